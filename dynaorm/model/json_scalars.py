"""The JSON forms of single values: text, numbers, exact decimals, booleans, binary, dates and
times, TTLs, sets, JSON documents and nulls (one :class:`Conversion` per attribute type).

:mod:`dynaorm.model.json_values` adds the forms of lists, maps and whole entities, built from
these. Binary values are base64 text, as in DynamoDB JSON (:mod:`dynaorm.base.typed_json`).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    JSONAttribute,
    NullAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from dynaorm.base.typed_json import binary_from_text, binary_text
from dynaorm.model.values import DecimalAttribute

__all__ = ["SCALAR_CONVERSIONS", "Conversion", "InvalidJSONValue", "expect", "load_bytes"]


class InvalidJSONValue(ValueError):
    """A value a conversion's ``load`` refuses; the message says what was expected.

    Example:
        >>> str(InvalidJSONValue("expected a string, got int 5"))
        'expected a string, got int 5'
    """


@attrs.frozen
class Conversion:
    """How one attribute type converts to JSON and back.

    Attributes:
        python_type: The type of the attribute's Python values (what a Pydantic model field
            holds).
        dump: ``(attribute, value) -> JSON-safe value``.
        load: ``(attribute, JSON value) -> value``; it also takes the Python value itself,
            and raises ``ValueError`` or ``TypeError`` saying what it expected otherwise.
        json_type: The type of the JSON form (what ``dump`` returns), for JSON schemas.
    """

    python_type: Any
    dump: Callable[[Attribute[Any], Any], Any]
    load: Callable[[Attribute[Any], Any], Any]
    json_type: Any = Any


def expect(ok: bool, what: str, value: Any) -> None:
    """Raise :class:`InvalidJSONValue` saying ``what`` was expected unless ``ok``.

    Example:
        >>> expect(True, "a string", "x")
        >>> expect(False, "a string", 5)
        Traceback (most recent call last):
        ...
        dynaorm.model.json_scalars.InvalidJSONValue: expected a string, got int 5
    """
    if not ok:
        raise InvalidJSONValue(f"expected {what}, got {type(value).__name__} {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


# -- scalars ---------------------------------------------------------------------------------


def _same(attribute: Attribute[Any], value: Any) -> Any:
    return value


def _load_text(attribute: Attribute[Any], value: Any) -> str:
    expect(isinstance(value, str), "a string", value)
    return str(value)


def _load_number(attribute: Attribute[Any], value: Any) -> int | float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    expect(ok and math.isfinite(value), "a finite number", value)
    return value  # type: ignore[no-any-return]


def _load_bool(attribute: Attribute[Any], value: Any) -> bool:
    expect(isinstance(value, bool), "true or false", value)
    return bool(value)


def load_bytes(value: Any) -> bytes:
    """Bytes from their JSON form, base64 text (bytes themselves are taken as they are).

    Raises:
        InvalidJSONValue: ``value`` is neither bytes nor base64 text.

    Example:
        >>> load_bytes("AAE="), load_bytes(b"x")
        (b'\\x00\\x01', b'x')
    """
    if isinstance(value, bytes):
        return value
    expect(isinstance(value, str), "base64 text", value)
    try:
        return binary_from_text(value)
    except ValueError:
        raise InvalidJSONValue(f"expected base64 text, got {_short(value)}") from None


def _load_binary(attribute: Attribute[Any], value: Any) -> bytes:
    return load_bytes(value)


def _dump_datetime(attribute: Attribute[Any], value: datetime) -> str:
    return value.isoformat()


def _load_datetime(attribute: Attribute[Any], value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidJSONValue(
                f"expected an ISO 8601 date and time, got {_short(value)}"
            ) from None
    expect(isinstance(value, datetime), "an ISO 8601 date and time", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidJSONValue(
            f"expected a date and time with an offset (e.g. +00:00), got {value}"
        )
    moment: datetime = value.astimezone(UTC)
    return moment


def _load_ttl(attribute: Attribute[Any], value: Any) -> datetime:
    moment = _load_datetime(attribute, value)
    if moment.microsecond:
        raise InvalidJSONValue(f"expected whole seconds (a TTL is stored in seconds), got {moment}")
    return moment


def _load_decimal(attribute: Attribute[Any], value: Any) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    else:
        expect(isinstance(value, str), "a decimal number as text", value)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise InvalidJSONValue(
                f"expected a decimal number as text, got {_short(value)}"
            ) from None
    if not number.is_finite():
        raise InvalidJSONValue(f"expected a finite decimal number, got {value}")
    return number


def _dump_decimal(attribute: Attribute[Any], value: Decimal) -> str:
    return str(value)


# -- sets ------------------------------------------------------------------------------------


def _load_set(load_one: Callable[[Any], Any]) -> Callable[[Attribute[Any], Any], set[Any]]:
    def load(attribute: Attribute[Any], value: Any) -> set[Any]:
        expect(isinstance(value, list | set | frozenset | tuple), "a list", value)
        return {load_one(element) for element in value}

    return load


def _one_text(value: Any) -> str:
    return _load_text(UnicodeAttribute(), value)


def _one_number(value: Any) -> int | float:
    return _load_number(NumberAttribute(), value)


def _dump_text_set(attribute: Attribute[Any], value: set[str]) -> list[str]:
    return sorted(value)


def _dump_number_set(attribute: Attribute[Any], value: set[int | float]) -> list[int | float]:
    return sorted(value)


def _dump_binary_set(attribute: Attribute[Any], value: set[bytes]) -> list[str]:
    return [binary_text(element) for element in sorted(value)]


def _dump_json(attribute: Attribute[Any], value: Any) -> Any:
    return copy.deepcopy(value)


def _load_json(attribute: Attribute[Any], value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise InvalidJSONValue(f"expected a JSON value, got {_short(value)}") from None


def _load_null(attribute: Attribute[Any], value: Any) -> None:
    expect(value is None, "null", value)


def _scalar(python_type: Any, load: Callable[[Attribute[Any], Any], Any]) -> Conversion:
    return Conversion(python_type, _same, load, python_type)


# Attribute class -> conversion, for the attributes that hold one value each (the lists and
# maps of dynaorm.model.json_values add theirs).
SCALAR_CONVERSIONS: dict[type[Attribute[Any]], Conversion] = {
    UnicodeAttribute: _scalar(str, _load_text),
    NumberAttribute: _scalar(int | float, _load_number),
    BooleanAttribute: _scalar(bool, _load_bool),
    BinaryAttribute: Conversion(bytes, lambda a, v: binary_text(v), _load_binary, str),
    UTCDateTimeAttribute: Conversion(datetime, _dump_datetime, _load_datetime, str),
    TTLAttribute: Conversion(datetime, _dump_datetime, _load_ttl, str),
    UnicodeSetAttribute: Conversion(set[str], _dump_text_set, _load_set(_one_text), list[str]),
    NumberSetAttribute: Conversion(
        set[int | float], _dump_number_set, _load_set(_one_number), list[int | float]
    ),
    BinarySetAttribute: Conversion(set[bytes], _dump_binary_set, _load_set(load_bytes), list[str]),
    JSONAttribute: Conversion(Any, _dump_json, _load_json),
    NullAttribute: Conversion(type(None), lambda a, v: None, _load_null, type(None)),
    DecimalAttribute: Conversion(Decimal, _dump_decimal, _load_decimal, str),
}
