"""Decoding the plain values of numbers, raw maps and untyped lists without PynamoDB's
per-value class lookups and ``json.loads``, to exactly what PynamoDB's ``deserialize`` gives.

A raw ``MapAttribute`` and an untyped ``ListAttribute`` decode each member through
``DESERIALIZE_CLASS_MAP``; a ``NumberAttribute`` decodes its text with ``json.loads``. For text,
booleans, nulls, maps, lists and numbers in plain notation the result is worked out here
(an integer's text to ``int``, a decimal's to ``float``, what ``json.loads`` gives for them);
any other value (sets, binary, exponents, anything malformed) is decoded by PynamoDB itself,
so its result and its errors are PynamoDB's. ``tests/model/test_pynamodb_equivalence.py``
checks both against PynamoDB.

Example:
    >>> from pynamodb.attributes import ListAttribute
    >>> fast_deserializer(ListAttribute())([{"N": "2"}, {"M": {"a": {"S": "x"}}}])
    [2, {'a': 'x'}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pynamodb.attributes import (
    Attribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
)

__all__ = ["fast_deserializer"]

# JSON's integer and plain decimal forms (no exponent, no leading zeros, no spaces).
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_LONGEST = 48  # longer text (far past DynamoDB's 38 digits) is left to json.loads


class _NotPlain(Exception):
    """A value left to PynamoDB's own decoding."""


def _number(text: Any) -> Any:
    if type(text) is str and len(text) <= _LONGEST:
        if _INTEGER.fullmatch(text):
            return int(text)
        if _DECIMAL.fullmatch(text):
            return float(text)
    raise _NotPlain


def _member(typed: Any) -> Any:
    """One typed member of a raw map or an untyped list, as ``DESERIALIZE_CLASS_MAP`` decodes
    it; raises ``_NotPlain`` for anything but the plain kinds."""
    if type(typed) is not dict or len(typed) != 1:
        raise _NotPlain
    ((kind, raw),) = typed.items()
    if kind == "S" and type(raw) is str:
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "M" and type(raw) is dict:
        return {name: _member(member) for name, member in raw.items()}
    if kind == "L" and type(raw) is list:
        return [_member(member) for member in raw]
    if kind == "BOOL" and type(raw) is bool:
        return raw
    if kind == "NULL":
        return None
    raise _NotPlain


def fast_deserializer(attribute: Attribute[Any]) -> Callable[[Any], Any] | None:
    """A stand-in for ``attribute.deserialize`` (the stored value of the attribute's own type
    in, the Python value out) for a raw map, an untyped list or a number; ``None`` for any
    other attribute class, whose own ``deserialize`` is used."""
    cls = type(attribute)
    deserialize = attribute.deserialize
    if cls is MapAttribute:

        def decode_map(value: Any) -> Any:
            if type(value) is dict:
                try:
                    return {name: _member(member) for name, member in value.items()}
                except (_NotPlain, RecursionError):
                    pass
            return deserialize(value)

        return decode_map
    if cls is ListAttribute and getattr(attribute, "element_type", None) is None:

        def decode_list(value: Any) -> Any:
            if type(value) is list:
                try:
                    return [_member(member) for member in value]
                except (_NotPlain, RecursionError):
                    pass
            return deserialize(value)

        return decode_list
    if cls.deserialize is NumberAttribute.deserialize:

        def decode_number(value: Any) -> Any:
            try:
                return _number(value)
            except _NotPlain:
                return deserialize(value)

        return decode_number
    return None
