"""Entities as JSON-safe dicts and back: :meth:`Entity.to_dict` and :meth:`Entity.from_dict`.

Each attribute type converts through one entry of :data:`CONVERSIONS` (looked up along the
attribute class's MRO, so subclasses such as ``VersionAttribute`` or ``CreatedAtAttribute``
use their base's entry): ``dump`` turns the Python value into something ``json.dumps`` takes,
``load`` turns that back, exactly, and refuses anything else.

======================================  ==========================================
attribute                               JSON
======================================  ==========================================
``UnicodeAttribute``                    string
``NumberAttribute`` (and versions)      number (an int stays an int)
``DecimalAttribute``                    string, the exact decimal text
``BinaryAttribute``                     string, standard base64
``BooleanAttribute``                    true / false
``UTCDateTimeAttribute``, timestamps    string, ISO 8601 with offset (``+00:00``)
``TTLAttribute``                        string, ISO 8601 with offset (whole seconds)
``UnicodeSetAttribute``                 sorted list of strings
``NumberSetAttribute``                  sorted list of numbers
``BinarySetAttribute``                  list of base64 strings, sorted by the bytes
``ListAttribute(of=X)``                 list of X's JSON
``MapAttribute`` subclass               object keyed by the map's Python attribute names
``JSONAttribute``                       the value itself
``NullAttribute``                       null
raw ``MapAttribute``, untyped lists,    the natural JSON value; bytes as
``DynamicMapAttribute`` extras          ``{"$binary": base64}``, sets as ``{"$set": [...]}``
======================================  ==========================================
"""

from __future__ import annotations

import base64
import binascii
import copy
import importlib
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    DynamicMapAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NullAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from dynaorm.base.errors import ValidationError

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = [
    "CONVERSIONS",
    "Conversion",
    "conversion_for",
    "entity_from_dict",
    "entity_to_dict",
    "typed_map",
]

E = TypeVar("E", bound="Entity")


class _Invalid(ValueError):
    """A value ``load`` refuses; the message says what was expected."""


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


def _expect(ok: bool, what: str, value: Any) -> None:
    if not ok:
        raise _Invalid(f"expected {what}, got {type(value).__name__} {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


# -- scalars ---------------------------------------------------------------------------------


def _same(attribute: Attribute[Any], value: Any) -> Any:
    return value


def _load_text(attribute: Attribute[Any], value: Any) -> str:
    _expect(isinstance(value, str), "a string", value)
    return str(value)


def _load_number(attribute: Attribute[Any], value: Any) -> int | float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    _expect(ok and math.isfinite(value), "a finite number", value)
    return value  # type: ignore[no-any-return]


def _load_bool(attribute: Attribute[Any], value: Any) -> bool:
    _expect(isinstance(value, bool), "true or false", value)
    return bool(value)


def _dump_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _load_bytes_value(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    _expect(isinstance(value, str), "base64 text", value)
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _Invalid(f"expected base64 text, got {_short(value)}") from None


def _load_binary(attribute: Attribute[Any], value: Any) -> bytes:
    return _load_bytes_value(value)


def _dump_datetime(attribute: Attribute[Any], value: datetime) -> str:
    return value.isoformat()


def _load_datetime(attribute: Attribute[Any], value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Invalid(f"expected an ISO 8601 date and time, got {_short(value)}") from None
    _expect(isinstance(value, datetime), "an ISO 8601 date and time", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Invalid(f"expected a date and time with an offset (e.g. +00:00), got {value}")
    moment: datetime = value.astimezone(UTC)
    return moment


def _load_ttl(attribute: Attribute[Any], value: Any) -> datetime:
    moment = _load_datetime(attribute, value)
    if moment.microsecond:
        raise _Invalid(f"expected whole seconds (a TTL is stored in seconds), got {moment}")
    return moment


def _load_decimal(attribute: Attribute[Any], value: Any) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    else:
        _expect(isinstance(value, str), "a decimal number as text", value)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _Invalid(f"expected a decimal number as text, got {_short(value)}") from None
    if not number.is_finite():
        raise _Invalid(f"expected a finite decimal number, got {value}")
    return number


def _dump_decimal(attribute: Attribute[Any], value: Decimal) -> str:
    return str(value)


# -- sets ------------------------------------------------------------------------------------


def _load_set(load_one: Callable[[Any], Any]) -> Callable[[Attribute[Any], Any], set[Any]]:
    def load(attribute: Attribute[Any], value: Any) -> set[Any]:
        _expect(isinstance(value, list | set | frozenset | tuple), "a list", value)
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
    return [_dump_bytes(element) for element in sorted(value)]


def typed_map(attribute: Attribute[Any]) -> bool:
    """Whether an attribute is a MapAttribute subclass with declared attributes only (not a
    raw ``MapAttribute`` or a ``DynamicMapAttribute``)."""
    return (
        isinstance(attribute, MapAttribute)
        and type(attribute) is not MapAttribute
        and not isinstance(attribute, DynamicMapAttribute)
    )


# -- documents -------------------------------------------------------------------------------

_BINARY_TAG, _SET_TAG, _MAP_TAG = "$binary", "$set", "$map"
_TAGS = frozenset({_BINARY_TAG, _SET_TAG, _MAP_TAG})


def _dump_any(value: Any) -> Any:
    """An untyped value (raw maps, untyped lists, dynamic-map extras) as JSON."""
    if isinstance(value, MapAttribute):
        if type(value) is not MapAttribute:
            return _dump_map(value, value)
        value = value.attribute_values
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return {_BINARY_TAG: _dump_bytes(value)}
    if isinstance(value, set | frozenset):
        return {_SET_TAG: [_dump_any(element) for element in sorted(value)]}
    if isinstance(value, list | tuple):
        return [_dump_any(element) for element in value]
    if isinstance(value, Mapping):
        out = {str(key): _dump_any(element) for key, element in value.items()}
        # A map whose one key looks like a tag is wrapped, so it reads back as a map.
        return {_MAP_TAG: out} if len(out) == 1 and next(iter(out)) in _TAGS else out
    raise _Invalid(f"cannot convert a {type(value).__name__} to JSON")


def _load_any(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, float):
            _expect(math.isfinite(value), "a finite number", value)
        return value
    if isinstance(value, bytes | set | frozenset):
        return value
    if isinstance(value, list | tuple):
        return [_load_any(element) for element in value]
    _expect(isinstance(value, Mapping), "a JSON value", value)
    if len(value) == 1:
        tag, inner = next(iter(value.items()))
        if tag == _BINARY_TAG:
            return _load_bytes_value(inner)
        if tag == _SET_TAG:
            _expect(isinstance(inner, list), f"a list under {_SET_TAG!r}", inner)
            return {_load_any(element) for element in inner}
        if tag == _MAP_TAG:
            _expect(isinstance(inner, Mapping), f"an object under {_MAP_TAG!r}", inner)
            value = inner
    return {str(key): _load_any(element) for key, element in value.items()}


def _dump_list(attribute: Attribute[Any], value: list[Any]) -> list[Any]:
    element_type = getattr(attribute, "element_type", None)
    if element_type is None:
        return [_dump_any(element) for element in value]
    element = element_type()
    conversion = conversion_for(element)
    return [None if v is None else conversion.dump(element, v) for v in value]


def _load_list(attribute: Attribute[Any], value: Any) -> list[Any]:
    _expect(isinstance(value, list | tuple), "a list", value)
    element_type = getattr(attribute, "element_type", None)
    if element_type is None:
        return [_load_any(element) for element in value]
    element = element_type()
    conversion = conversion_for(element)
    out = []
    for index, item in enumerate(value):
        try:
            out.append(None if item is None else conversion.load(element, item))
        except _Invalid as exc:
            raise _Invalid(f"[{index}]: {exc}") from None
    return out


def _dump_container(container: Any) -> dict[str, Any]:
    """A typed map's (or an entity's) attributes by Python name; unset ones are null."""
    out: dict[str, Any] = {}
    for name, attribute in container.get_attributes().items():
        value = getattr(container, name)
        out[name] = None if value is None else conversion_for(attribute).dump(attribute, value)
    return out


def _dump_map(attribute: Attribute[Any], value: Any) -> Any:
    if isinstance(value, MapAttribute) and type(value) is not MapAttribute:
        out = _dump_container(value)
        if isinstance(value, DynamicMapAttribute):
            # PynamoDB's decoding leaves an "attribute_values" entry among the extras.
            declared = {*value.get_attributes(), "attribute_values"}
            for key, extra in value.attribute_values.items():
                if key not in declared:
                    out[key] = _dump_any(extra)
        return out
    return _dump_any(value)


def _load_map(attribute: Attribute[Any], value: Any) -> Any:
    cls = type(attribute)
    if isinstance(value, MapAttribute):
        return value
    if cls is MapAttribute:  # a raw map: untyped values
        loaded = _load_any(value)
        _expect(isinstance(loaded, dict), "an object", value)
        return loaded
    _expect(isinstance(value, Mapping), "an object", value)
    extras = issubclass(cls, DynamicMapAttribute)
    values = _load_fields(cls, value, where="", allow_unknown=extras)
    return cls(**values)


def _dump_json(attribute: Attribute[Any], value: Any) -> Any:
    return copy.deepcopy(value)


def _load_json(attribute: Attribute[Any], value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise _Invalid(f"expected a JSON value, got {_short(value)}") from None


def _load_null(attribute: Attribute[Any], value: Any) -> None:
    _expect(value is None, "null", value)


def _scalar(python_type: Any, load: Callable[[Attribute[Any], Any], Any]) -> Conversion:
    return Conversion(python_type, _same, load, python_type)


# Attribute class -> conversion. A new attribute type plugs in with one entry; subclasses use
# the entry of their nearest listed base.
CONVERSIONS: dict[type[Attribute[Any]], Conversion] = {
    UnicodeAttribute: _scalar(str, _load_text),
    NumberAttribute: _scalar(int | float, _load_number),
    BooleanAttribute: _scalar(bool, _load_bool),
    BinaryAttribute: Conversion(bytes, lambda a, v: _dump_bytes(v), _load_binary, str),
    UTCDateTimeAttribute: Conversion(datetime, _dump_datetime, _load_datetime, str),
    TTLAttribute: Conversion(datetime, _dump_datetime, _load_ttl, str),
    UnicodeSetAttribute: Conversion(set[str], _dump_text_set, _load_set(_one_text), list[str]),
    NumberSetAttribute: Conversion(
        set[int | float], _dump_number_set, _load_set(_one_number), list[int | float]
    ),
    BinarySetAttribute: Conversion(
        set[bytes], _dump_binary_set, _load_set(_load_bytes_value), list[str]
    ),
    ListAttribute: Conversion(list[Any], _dump_list, _load_list, list[Any]),
    MapAttribute: Conversion(dict[str, Any], _dump_map, _load_map, dict[str, Any]),
    JSONAttribute: Conversion(Any, _dump_json, _load_json),
    NullAttribute: Conversion(type(None), lambda a, v: None, _load_null, type(None)),
}

DECIMAL = Conversion(Decimal, _dump_decimal, _load_decimal, str)


def _add_decimal() -> None:
    # DecimalAttribute, where this version of dynaorm has it.
    try:
        module = importlib.import_module("dynaorm.model.values")
    except ImportError:
        return
    decimal_attribute = getattr(module, "DecimalAttribute", None)
    if decimal_attribute is not None:
        CONVERSIONS[decimal_attribute] = DECIMAL


_add_decimal()


def conversion_for(attribute: Attribute[Any]) -> Conversion:
    """The conversion of an attribute (its class's nearest entry in :data:`CONVERSIONS`).

    Raises:
        ValidationError: No entry covers the attribute's type.
    """
    for cls in type(attribute).__mro__:
        found = CONVERSIONS.get(cls)
        if found is not None:
            return found
    raise ValidationError(
        f"{type(attribute).__name__} has no JSON conversion; add one to "
        "dynaorm.model.json_values.CONVERSIONS"
    )


# -- entities --------------------------------------------------------------------------------


def entity_to_dict(entity: Entity) -> dict[str, Any]:
    """See :meth:`dynaorm.Entity.to_dict`."""
    from dynaorm.model.decode import PartialValues

    values = entity.attribute_values
    if isinstance(values, PartialValues) and values.partly:
        # The part read would pass for the whole value (and from_dict() then write it).
        raise values.read_in_part(sorted(values.partly)[0])
    try:
        return _dump_container(entity)
    except _Invalid as exc:
        raise ValidationError(f"{type(entity).__qualname__}: {exc}") from None


def _load_fields(
    cls: Any, data: Mapping[str, Any], *, where: str, allow_unknown: bool
) -> dict[str, Any]:
    attributes: dict[str, Attribute[Any]] = cls.get_attributes()
    values: dict[str, Any] = {}
    for key, raw in data.items():
        attribute = attributes.get(key)
        if attribute is None:
            if not allow_unknown:
                known = ", ".join(sorted(attributes)) or "none"
                raise _Invalid(f"unknown attribute {where}{key!r} (attributes: {known})")
            values[str(key)] = _load_any(raw)
            continue
        if raw is None:
            continue
        try:
            values[key] = conversion_for(attribute).load(attribute, raw)
        except ValidationError:
            raise
        except (_Invalid, ValueError, TypeError) as exc:
            raise _Invalid(f"{where}{key}: {exc}") from None
    return values


def entity_from_dict(cls: type[E], data: Mapping[str, Any], *, partial: bool = False) -> E:
    """See :meth:`dynaorm.Entity.from_dict`."""
    name = cls.__qualname__
    if not isinstance(data, Mapping):
        raise ValidationError(f"{name}.from_dict() takes a mapping, got {type(data).__name__}")
    try:
        values = _load_fields(cls, data, where="", allow_unknown=False)
    except _Invalid as exc:
        raise ValidationError(f"{name}: {exc}") from None
    if not partial:
        missing = [
            key
            for key, attribute in cls.get_attributes().items()
            if values.get(key) is None
            and not attribute.null
            and attribute.default is None
            and attribute.default_for_new is None
        ]
        if missing:
            raise ValidationError(f"{name}: missing required attribute(s) {', '.join(missing)}")
    return cls(**values)
