"""Whether two key templates may build the same text: a table refuses to register an entity
whose primary key could build the key of another entity of the table.

This module is pure: it compares the parsed parts of templates, nothing else.
"""

from __future__ import annotations

import re

from dynaorm.keys.templates import KeyTemplate, _Field, _Literal, _Part

__all__ = ["templates_may_collide"]


def _segments(template: KeyTemplate) -> list[tuple[_Part, ...]]:
    """Split a template at the delimiter; a field never spans two segments."""
    segments: list[list[_Part]] = [[]]
    for part in template.parts:
        if isinstance(part, _Field):
            segments[-1].append(part)
            continue
        pieces = part.text.split(template.delimiter)
        for i, piece in enumerate(pieces):
            if i:
                segments.append([])
            if piece:
                segments[-1].append(_Literal(piece))
    return [tuple(s) for s in segments]


def _segment_regex(segment: tuple[_Part, ...]) -> str:
    return "".join(".+" if isinstance(p, _Field) else re.escape(p.text) for p in segment)


def _ends(segment: tuple[_Part, ...]) -> tuple[str, str]:
    head = segment[0].text if isinstance(segment[0], _Literal) else ""
    tail = segment[-1].text if isinstance(segment[-1], _Literal) else ""
    return head, tail


def _segments_may_match(a: tuple[_Part, ...], b: tuple[_Part, ...]) -> bool:
    a_const = all(isinstance(p, _Literal) for p in a)
    b_const = all(isinstance(p, _Literal) for p in b)
    if a_const and b_const:
        return "".join(p.text for p in a if isinstance(p, _Literal)) == "".join(
            p.text for p in b if isinstance(p, _Literal)
        )
    if a_const or b_const:
        const, pattern = (a, b) if a_const else (b, a)
        text = "".join(p.text for p in const if isinstance(p, _Literal))
        return re.fullmatch(_segment_regex(pattern), text) is not None
    (a_head, a_tail), (b_head, b_tail) = _ends(a), _ends(b)
    heads_agree = a_head.startswith(b_head) or b_head.startswith(a_head)
    tails_agree = a_tail.endswith(b_tail) or b_tail.endswith(a_tail)
    return heads_agree and tails_agree


def templates_may_collide(a: KeyTemplate, b: KeyTemplate) -> bool:
    """True when some values could make ``a`` and ``b`` build the same text.

    Conservative: it may report a collision for exotic templates that cannot really produce
    the same text, never the reverse.
    """
    if a.delimiter != b.delimiter:
        return True
    seg_a, seg_b = _segments(a), _segments(b)
    if len(seg_a) != len(seg_b):
        return False
    return all(_segments_may_match(x, y) for x, y in zip(seg_a, seg_b, strict=True))
