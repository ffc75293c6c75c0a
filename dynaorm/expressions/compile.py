"""Compiling condition, update and projection objects to DynamoDB expression strings.

The expression *objects* are PynamoDB's: ``Order.total > 100``, ``Order.status.set("PAID")``,
``size(Order.lines) > 3``, ``Order.meta["colour"] == "red"``. They never render themselves
here: an :class:`ExpressionBuilder` walks them and owns the placeholder state for exactly one
request, so compiling never depends on anything compiled before.

Every attribute name becomes a ``#nN`` placeholder and every value a ``:vN`` placeholder, so
reserved words (``name``, ``status``, ``size``) and names containing ``.``, ``[``, ``:`` or ``#``
are always treated as names. Equal values share one placeholder.

This module is a pure bottom layer: no I/O and no knowledge of entities or tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import (
    Action,
    AddAction,
    DeleteAction,
    RemoveAction,
    SetAction,
)

from dynaorm.base.errors import ValidationError
from dynaorm.expressions.operands import Operand
from dynaorm.expressions.paths import path_of, path_steps, split_segment

__all__ = [
    "ExpressionBuilder",
    "NameAction",
    "NameCondition",
    "attribute_missing",
    "conjoin",
    "key_condition",
    "operand_values",
    "render",
]

# Operands DynamoDB takes after IN.
_IN_MAX = 100
_CLAUSES: tuple[tuple[str, type[Action]], ...] = (
    ("SET", SetAction),
    ("REMOVE", RemoveAction),
    ("ADD", AddAction),
    ("DELETE", DeleteAction),
)
_KEYWORDS: dict[type, str] = {cls: keyword for keyword, cls in _CLAUSES}


class NameAction:
    """A SET or REMOVE of one top-level attribute by name, for the actions an update adds
    itself (entity type, key fields, index keys), compiled as ``Path([name]).set(value)``,
    ``Path([name]).remove()`` (``value`` None) or, with ``if_missing``,
    ``attribute.set(attribute | value)`` (``name`` the attribute's own, taken whole) would be,
    without building those objects. ``value`` is typed, e.g. ``{"S": "x"}``."""

    __slots__ = ("if_missing", "name", "value")

    def __init__(
        self, name: str, value: Mapping[str, Any] | None = None, *, if_missing: bool = False
    ) -> None:
        self.name, self.value, self.if_missing = name, value, if_missing

    def __repr__(self) -> str:
        return f"NameAction({self.name!r}, {self.value!r}, if_missing={self.if_missing})"


class NameCondition:
    """``attribute == value`` (typed) or, with ``value`` None, ``attribute.does_not_exist()``
    for a top-level attribute by its own name, compiled (by :meth:`ExpressionBuilder.conditions`)
    as those PynamoDB conditions would be, without building them."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: Mapping[str, Any] | None) -> None:
        self.name, self.value = name, value

    def __repr__(self) -> str:
        return f"NameCondition({self.name!r}, {self.value!r})"


def operand_values(node: Any) -> Iterable[Value]:
    """Every :class:`Value` inside a condition, an update action or an operand."""
    if isinstance(node, Value):
        yield node
    elif isinstance(node, Condition | Action | Operand) and not isinstance(node, Path):
        for child in node.values:
            yield from operand_values(child)


class ExpressionBuilder:
    """Collects ``ExpressionAttributeNames``/``Values`` for one request.

    Example:
        >>> b = ExpressionBuilder()
        >>> b.condition(attribute_missing("PK"))
        'attribute_not_exists (#n0)'
        >>> b.members()
        {'ExpressionAttributeNames': {'#n0': 'PK'}}
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: list[tuple[Mapping[str, Any], str]] = []

    # -- placeholders ----------------------------------------------------------------------

    def name(self, name: str) -> str:
        """The placeholder of one attribute name (the same name always gets the same one).

        Raises:
            ValidationError: The name is not valid Unicode text.
        """
        placeholder = self._names.get(name)
        if placeholder is None:
            _check_name(name)
            placeholder = f"#n{len(self._names)}"
            self._names[name] = placeholder
        return placeholder

    def value(self, value: Mapping[str, Any]) -> str:
        """The placeholder of a typed value such as ``{"S": "x"}`` (equal values share one)."""
        for existing, placeholder in self._values:
            if existing == value:
                return placeholder
        placeholder = f":v{len(self._values)}"
        self._values.append((value, placeholder))
        return placeholder

    def _step(self, name: str, indexes: str, segments: Sequence[str]) -> str:
        """One parsed path segment: its name placeholdered, its list indexes kept."""
        if not name:
            raise ValidationError(f"empty attribute name in document path {list(segments)!r}")
        return self.name(name) + indexes

    def _name_action(self, action: NameAction) -> str:
        # if_missing names are an attribute's own; the others are segments of a Path([name]).
        name = (
            self.name(action.name)
            if action.if_missing
            else self._step(*split_segment(action.name), [action.name])
        )
        if action.value is None:
            return name
        if action.if_missing:
            return f"{name} = if_not_exists ({name}, {self.value(action.value)})"
        return f"{name} = {self.value(action.value)}"

    def path(self, path: Path) -> str:
        """Compile a document path: each name placeholdered, list indexes kept."""
        segments = path.path
        return ".".join(self._step(n, i, segments) for n, i in path_steps(path))

    # -- expressions -----------------------------------------------------------------------

    def _operand(self, node: Any) -> str:
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Value):
            return self.value(node.value)
        if isinstance(node, Condition):
            return self.condition(node)
        if isinstance(node, Operand):
            parts = [self._operand(v) for v in node.values]
            return node.format_string.format(*parts)
        raise TypeError(f"cannot compile {node!r} ({type(node).__name__}) in an expression")

    def condition(self, condition: Condition) -> str:
        """Compile a condition, registering its names and values."""
        if not isinstance(condition, Condition):
            raise TypeError(
                f"expected a condition such as Order.total > 5, got {type(condition).__name__}"
            )
        if condition.operator == "IN" and not 2 <= len(condition.values) <= _IN_MAX + 1:
            raise ValidationError(
                f"is_in() takes 1 to {_IN_MAX} values (DynamoDB's limit), got "
                f"{len(condition.values) - 1}"
            )
        parts = [self._operand(v) for v in condition.values]
        return condition.format_string.format(*parts, operator=condition.operator)

    def conditions(self, parts: Iterable[Condition | NameCondition | None]) -> str | None:
        """Compile the parts that are not ``None`` ANDed together (``None`` when none is):
        the text, placeholders and errors of ``condition(conjoin(*parts))``."""
        present = [part for part in parts if part is not None]
        unchecked: list[object] = list(present)  # the caller's condition may be anything
        for position, part in enumerate(unchecked[1:], 1):
            if not isinstance(part, Condition | NameCondition):  # what conjoin's & raises:
                left = unchecked[0] if position == 1 else None
                what = "And" if left is None else type(left).__name__
                if isinstance(left, NameCondition):
                    what = "NotExists" if left.value is None else "Comparison"
                raise TypeError(
                    f"unsupported operand type(s) for &: '{what}' and '{type(part).__name__}'"
                )
        text: str | None = None
        for part in present:
            if not isinstance(part, NameCondition):
                compiled = self.condition(part)
            elif part.value is None:
                compiled = f"attribute_not_exists ({self.name(part.name)})"
            else:
                compiled = f"{self.name(part.name)} = {self.value(part.value)}"
            text = compiled if text is None else f"({text} AND {compiled})"
        return text

    def update(self, actions: Iterable[Action | NameAction]) -> str:
        """Compile update actions, grouped into SET/REMOVE/ADD/DELETE clauses in that order."""
        grouped: dict[str, list[Action | NameAction]] = {keyword: [] for keyword, _ in _CLAUSES}
        for action in actions:
            if isinstance(action, NameAction):
                keyword: str | None = "REMOVE" if action.value is None else "SET"
            else:
                keyword = _KEYWORDS.get(type(action))  # (the exact classes: one look-up)
                if keyword is None:
                    keyword = next((k for k, cls in _CLAUSES if isinstance(action, cls)), None)
            if keyword is None:
                raise TypeError(
                    f"expected an update action such as Order.total.set(5), got {action!r}"
                )
            grouped[keyword].append(action)
        clauses = []
        for keyword, members in grouped.items():
            if members:
                compiled = [
                    self._name_action(a)
                    if isinstance(a, NameAction)
                    else a.format_string.format(*[self._operand(v) for v in a.values])
                    for a in members
                ]
                clauses.append(f"{keyword} {', '.join(compiled)}")
        return " ".join(clauses)

    def projection(self, targets: Iterable[Attribute[Any] | Path | str]) -> str:
        """Compile a ``ProjectionExpression`` (duplicates removed, order kept)."""
        compiled = [self.path(path_of(t)) for t in targets]
        return ", ".join(dict.fromkeys(compiled))

    def members(self) -> dict[str, Any]:
        """The name and value maps to merge into the request (empty ones left out)."""
        out: dict[str, Any] = {}
        if self._names:
            out["ExpressionAttributeNames"] = {p: n for n, p in self._names.items()}
        if self._values:
            out["ExpressionAttributeValues"] = {p: dict(v) for v, p in self._values}
        return out


def _check_name(name: str) -> None:
    # (The value checks live in dynaorm.base.limits, which callers apply; this layer stays pure.)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"attribute name {name!r} holds a lone surrogate ({name[exc.start]!r} at position "
            f"{exc.start}), which is not valid Unicode; DynamoDB names are UTF-8"
        ) from None


_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


def _show(value: Mapping[str, Any]) -> str:
    ((kind, raw),) = value.items()
    return repr(raw) if kind in ("S", "B") else str(raw)


def render(expression: str, members: Mapping[str, Any]) -> str:
    """Fill names and values back into a compiled expression, for display only.

    Whole placeholder tokens are replaced, so ``:v10`` never reads as ``:v1`` + ``0``.

    Example:
        >>> render("#n0 > :v0", {"ExpressionAttributeNames": {"#n0": "total"},
        ...                      "ExpressionAttributeValues": {":v0": {"N": "5"}}})
        'total > 5'
    """
    names = members.get("ExpressionAttributeNames", {})
    values = members.get("ExpressionAttributeValues", {})

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in names:
            return str(names[token])
        if token in values:
            return _show(values[token])
        return token

    return _PLACEHOLDER.sub(substitute, expression)


def attribute_missing(name: str) -> Condition:
    """``attribute_not_exists(name)`` for a top-level attribute named ``name``."""
    condition: Condition = Path([name]).does_not_exist()
    return condition


def conjoin(*conditions: Condition | None) -> Condition | None:
    """AND together the conditions that are not ``None``."""
    result: Condition | None = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else result & condition
    return result


_KEY_OPERATORS = frozenset({"=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"})


def key_condition(
    builder: ExpressionBuilder,
    partition: str,
    partition_value: Mapping[str, Any],
    sort: str | None = None,
    operator: str | None = None,
    sort_values: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Compile a ``KeyConditionExpression``: partition equality, then at most one sort condition.

    Args:
        builder: Collects the names and values of the request.
        partition: The partition-key attribute name.
        partition_value: Its typed value, e.g. ``{"S": "CUSTOMER#c1"}``.
        sort: The sort-key attribute name (with ``operator``).
        operator: ``=``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN`` or ``begins_with``.
        sort_values: The typed operand(s): two for ``BETWEEN``, one otherwise.

    Returns:
        The expression text; the names and values are registered in ``builder``.

    Raises:
        ValueError: An unknown operator or the wrong number of operands.

    Example:
        >>> b = ExpressionBuilder()
        >>> key_condition(b, "PK", {"S": "C#1"}, "SK", "begins_with", [{"S": "ORDER#"}])
        '#n0 = :v0 AND begins_with(#n1, :v1)'
    """
    text = f"{builder.name(partition)} = {builder.value(partition_value)}"
    if operator is None:
        return text
    if sort is None or operator not in _KEY_OPERATORS:
        raise ValueError(f"cannot compile sort-key condition {sort!r} {operator!r}")
    if len(sort_values) != (2 if operator == "BETWEEN" else 1):
        raise ValueError(f"{operator} takes {2 if operator == 'BETWEEN' else 1} operand(s)")
    name = builder.name(sort)
    values = [builder.value(v) for v in sort_values]
    if operator == "BETWEEN":
        clause = f"{name} BETWEEN {values[0]} AND {values[1]}"
    elif operator == "begins_with":
        clause = f"begins_with({name}, {values[0]})"
    else:
        clause = f"{name} {operator} {values[0]}"
    return f"{text} AND {clause}"
