"""Document paths, and the one parser of their segments.

A PynamoDB :class:`Path` (``Order.status``, ``Order.lines[2]``, ``Order.meta["colour"]``,
``Order.address.city``) holds its segments as text: each segment is one attribute or map-member
name followed by the list indexes that dereference it (``"lines[2]"``, ``"grid[0][1]"``); map
members are further segments. A name may itself contain ``.``, ``[`` or ``]``: when the path
comes from an attribute, the attribute's exact names (``attr_path``) say where each name ends;
otherwise only trailing ``[digits]`` groups are indexes, and a plain string given as a path is
one name, never split at ``.``.

Every reader of paths (the expression compiler, update analysis, projections and filters)
parses them here, so a name is never read two ways.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.operand import Path

__all__ = [
    "path_depth",
    "path_head",
    "path_names",
    "path_of",
    "path_steps",
    "split_segment",
    "top_name",
]

# "\Z", not "$" (which also matches before a final newline, cutting it off the name); ASCII
# digits only, as DynamoDB takes no other in a list index.
_TRAILING_INDEXES = re.compile(r"^(.*?)((?:\[[0-9]+\])*)\Z", re.DOTALL)


def path_of(target: Attribute[Any] | Path | str | Sequence[str]) -> Path:
    """A :class:`Path` for an attribute, a path, a top-level name, or a list of names.

    A plain string is one attribute name, never split at ``.``: use a list (or an attribute's
    ``[...]`` access) for nested paths.

    Example:
        >>> path_of("a.b").path, path_of(["a", "b"]).path
        (['a.b'], ['a', 'b'])
    """
    if isinstance(target, Path):
        return target
    if isinstance(target, Attribute):
        return Path(target)
    if isinstance(target, str):
        return Path([target])
    if not isinstance(target, Sequence) or not all(isinstance(n, str) for n in target):
        raise TypeError(
            f"expected an attribute, a path or an attribute name, got {target!r} "
            f"({type(target).__name__})"
        )
    return Path(list(target))


def split_segment(segment: str) -> tuple[str, str]:
    """A segment given as text, split into its name and its trailing list indexes.

    Example:
        >>> split_segment("grid[0][12]"), split_segment("x[y"), split_segment("status")
        (('grid', '[0][12]'), ('x[y', ''), ('status', ''))
    """
    if segment[-1:] not in ("]", ""):
        return segment, ""  # no trailing index: the segment is the name
    match = _TRAILING_INDEXES.match(segment)
    assert match is not None  # (the pattern matches any text)
    return match.group(1), match.group(2)


def _parsed(segment: str, known: str | None) -> tuple[str, str]:
    if known is not None and segment.startswith(known):
        return known, segment[len(known) :]
    return split_segment(segment)


def _exact_names(path: Path) -> Sequence[str]:
    attribute = path.attribute
    return attribute.attr_path if attribute is not None else ()


def path_steps(path: Path) -> list[tuple[str, str]]:
    """Each segment of ``path`` as its name and the list indexes after it (``"[2]"``, or
    ``""``), names exact where the path's attribute gives them.

    Example:
        >>> path_steps(Path(["lines[2]", "a.b", "x[y"]))
        [('lines', '[2]'), ('a.b', ''), ('x[y', '')]
    """
    exact = _exact_names(path)
    known = len(exact)
    return [
        _parsed(segment, exact[position] if position < known else None)
        for position, segment in enumerate(path.path)
    ]


def _head(path: Path) -> tuple[str, str]:
    exact = _exact_names(path)
    return _parsed(path.path[0], exact[0] if exact else None)


def path_head(path: Path) -> tuple[str, bool]:
    """The top-level attribute name a document path starts at, and whether it goes deeper.

    ``Order.status`` gives ``("status", False)``; ``Order.lines[2]`` and ``Order.meta["k"]``
    give ``("lines", True)`` and ``("meta", True)``. Names containing ``.`` or ``[`` are kept
    whole.

    Example:
        >>> path_head(Path(["lines[2]"])), path_head(Path(["meta", "k"])), path_head(Path(["s"]))
        (('lines', True), ('meta', True), ('s', False))
    """
    name, indexes = _head(path)
    return name, bool(indexes) or len(path.path) > 1


def top_name(path: Path) -> str:
    """The top-level attribute a document path starts at (list indexes stripped).

    Example:
        >>> top_name(Path(["lines[2]", "sku"]))
        'lines'
    """
    return _head(path)[0]


def path_names(path: Path) -> list[str]:
    """The names along a document path (attribute, then map members), without list indexes.

    Example:
        >>> path_names(Path(["meta", "sizes[0]", "eu"]))
        ['meta', 'sizes', 'eu']
    """
    return [name for name, _ in path_steps(path)]


def path_depth(path: Path) -> int:
    """How many maps and lists hold the value at ``path`` (0 for a top-level attribute).

    Example:
        >>> path_depth(Path(["status"])), path_depth(Path(["grid[0][1]", "x"])), path_depth(
        ...     Path(["x[y"]))
        (0, 3, 0)
    """
    steps = path_steps(path)
    return len(steps) - 1 + sum(indexes.count("[") for _, indexes in steps)
