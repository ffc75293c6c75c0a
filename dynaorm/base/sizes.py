"""Item sizes as DynamoDB counts them toward its 400 KB item limit, and the check of that limit.

DynamoDB's rules: an item is the UTF-8 bytes of its attribute names plus its values; text
counts its UTF-8 bytes, binary its raw bytes, a number 1 byte per two significant digits plus
1 (leading and trailing zeros do not count), a boolean or null 1 byte, a set the sum of its
members, and a list or map 3 bytes plus, per element, 1 byte and its value (and a map member
the bytes of its name).

This is the one calculator of sizes: writes, transactions, updates and imports all measure
through it. Most values are measured by a fast path that also proves them valid (what
:func:`~dynaorm.base.limits.check_value` accepts); a value it is unsure of is measured
exactly, step by step, instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dynaorm.base.errors import ValidationError
from dynaorm.base.limits import ITEM_SIZE_LIMIT, NESTING_LIMIT, significant_digits

__all__ = [
    "check_item",
    "item_size",
    "plain_item_size",
    "plain_number_size",
    "plain_value_size",
    "value_size",
]

# A number as PynamoDB writes it in plain notation; at most 38 characters long, such text has at
# most 38 significant digits and lies well inside DynamoDB's range (1E-130 to 9.99E+125).
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_NUMBER_FAST_LENGTH = 38


class _Unusual(Exception):
    """A value the fast path does not decide; the exact measure (and the checks) run instead."""


# What the fast path may raise besides _Unusual: text holding a lone surrogate, an item that is
# not a mapping.
_NOT_FAST = (_Unusual, UnicodeEncodeError, AttributeError, TypeError)


def _plain_number_size(text: Any) -> int:
    if type(text) is str and text.isdigit() and text.isascii() and len(text) <= 38:
        return ((len(text.strip("0")) or 1) + 1) // 2 + 1  # a whole number (the common case)
    if (
        type(text) is not str
        or len(text) > _NUMBER_FAST_LENGTH
        or not _PLAIN_NUMBER.fullmatch(text)
    ):
        raise _Unusual
    digits = len(text.lstrip("-").replace(".", "").strip("0")) or 1
    return (digits + 1) // 2 + 1


def plain_number_size(text: str) -> int | None:
    """The size of a number's text in plain notation (at most 38 characters, as PynamoDB
    writes ints and floats), which also proves it storable; ``None`` for any other text.

    Example:
        >>> plain_number_size("129.5"), plain_number_size("1e+20")
        (3, None)
    """
    try:
        return _plain_number_size(text)
    except _Unusual:
        return None


def _fast_size(value: Any, depth: int) -> int:
    """The size of a typed value that plainly passes every check of ``check_value``
    (``depth``: the maps and lists holding it); raises ``_Unusual`` for any other."""
    if type(value) is not dict or len(value) != 1:
        raise _Unusual
    ((kind, raw),) = value.items()
    kind_of = type(raw)
    if kind == "S":
        if kind_of is not str:
            raise _Unusual
        # ASCII text (the common case) is one byte a character, and holds no lone surrogate.
        return len(raw) if raw.isascii() else len(raw.encode("utf-8"))
    if kind == "N":
        return _plain_number_size(raw)
    if kind == "M":
        if kind_of is not dict or depth >= NESTING_LIMIT:
            raise _Unusual
        return 3 + _fast_members_size(raw, depth + 1)
    if kind == "L":
        if kind_of is not list or depth >= NESTING_LIMIT:
            raise _Unusual
        total = 3
        for member in raw:
            total += 1 + _fast_size(member, depth + 1)
        return total
    if kind == "BOOL" or kind == "NULL":
        return 1
    if kind == "SS":
        if kind_of is not list or not raw:
            raise _Unusual
        total = 0
        for text in raw:
            if type(text) is not str:
                raise _Unusual
            total += len(text) if text.isascii() else len(text.encode("utf-8"))
        return total
    if kind == "NS":
        if kind_of is not list or not raw:
            raise _Unusual
        return sum(_plain_number_size(number) for number in raw)
    if kind == "B" and kind_of is bytes:
        return len(raw)
    raise _Unusual


def _fast_members_size(members: Mapping[str, Any], depth: int) -> int:
    """Names plus values of an item or a map (each map member also counts one byte)."""
    total = 0
    for name, value in members.items():
        if type(name) is not str:  # (bytes have isascii() too)
            raise _Unusual
        total += 1 + (len(name) if name.isascii() else len(name.encode("utf-8")))
        # Text and numbers inline: most values are, and a call per value is a good part of
        # the cost.
        if type(value) is dict and len(value) == 1:
            text = value.get("S")
            if type(text) is str:
                total += len(text) if text.isascii() else len(text.encode("utf-8"))
                continue
            number = value.get("N")
            if number is not None:
                total += _plain_number_size(number)
                continue
        total += _fast_size(value, depth)
    return total


def _number_size(text: str) -> int:
    return (significant_digits(Decimal(text)) + 1) // 2 + 1


def _exact_size(value: Mapping[str, Any]) -> int:
    """The size of any typed value, measured step by step."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode("utf-8"))
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in raw)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + _exact_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _exact_size(v) for k, v in raw.items())
    raise ValidationError(f"unknown DynamoDB value type {kind!r}")


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes one typed value counts toward the item size.

    Example:
        >>> value_size({"S": "abc"}), value_size({"N": "-12.50"}), value_size({"L": []})
        (3, 3, 3)
    """
    try:
        return _fast_size(value, 0)
    except _NOT_FAST:
        return _exact_size(value)


def plain_value_size(value: Mapping[str, Any]) -> int | None:
    """The size of one typed value of an item (an attribute's, not a map member's) when it
    plainly passes :func:`check_value`, as :func:`plain_item_size` counts it; ``None`` when
    it needs the full checks. An item's size is the sum of its names' UTF-8 bytes and these.

    Example:
        >>> plain_value_size({"S": "abc"}), plain_value_size({"N": "NaN"})
        (3, None)
    """
    try:
        return _fast_size(value, 0)
    except _NOT_FAST:
        return None


def plain_item_size(item: Mapping[str, Mapping[str, Any]]) -> int | None:
    """The item's size when every value in it plainly passes :func:`check_value` (the common
    case, measured fast); ``None`` when some value needs the full checks.

    Example:
        >>> plain_item_size({"PK": {"S": "A#1"}, "n": {"N": "10"}})
        8
        >>> plain_item_size({"n": {"N": "NaN"}}) is None
        True
    """
    try:
        # An item's attributes count their names and values only, without a map member's byte.
        return _fast_members_size(item, 0) - len(item)
    except _NOT_FAST:
        return None


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes an item counts toward DynamoDB's 400 KB limit: names plus values.

    Example:
        >>> item_size({"PK": {"S": "A#1"}, "tags": {"SS": ["a", "bc"]}})
        12
    """
    size = plain_item_size(item)
    if size is not None:
        return size
    return sum(len(name.encode("utf-8")) + _exact_size(v) for name, v in item.items())


def check_item(item: Mapping[str, Mapping[str, Any]], *, what: str) -> int:
    """Return the item's size, or raise when it is over 400 KB.

    Raises:
        ValidationError: The item is larger than DynamoDB accepts; the message names the
            largest attributes.

    Example:
        >>> check_item({"PK": {"S": "A#1"}}, what="the item")
        5
    """
    size = item_size(item)
    if size > ITEM_SIZE_LIMIT:
        sizes = sorted(
            ((len(n.encode("utf-8")) + value_size(v), n) for n, v in item.items()), reverse=True
        )
        largest = ", ".join(f"{n} ({s:,} bytes)" for s, n in sizes[:3])
        raise ValidationError(
            f"{what} is {size:,} bytes; DynamoDB items are limited to {ITEM_SIZE_LIMIT:,} bytes "
            f"(names and values). Largest attributes: {largest}. Move large values to S3 or "
            "split the item."
        )
    return size
