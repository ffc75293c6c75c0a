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

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.attributes import Attribute, DynamicMapAttribute, ListAttribute, MapAttribute

from dynaorm.base.errors import ValidationError
from dynaorm.base.typed_json import binary_text
from dynaorm.model.dynamic import dynamic_fields
from dynaorm.model.json_scalars import (
    SCALAR_CONVERSIONS,
    Conversion,
    InvalidJSONValue,
    expect,
    load_bytes,
)
from dynaorm.model.partial import PartialValues
from dynaorm.model.pynamodb_compat import undeclared_members

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
        return {_BINARY_TAG: binary_text(value)}
    if isinstance(value, set | frozenset):
        return {_SET_TAG: [_dump_any(element) for element in sorted(value)]}
    if isinstance(value, list | tuple):
        return [_dump_any(element) for element in value]
    if isinstance(value, Mapping):
        out = {str(key): _dump_any(element) for key, element in value.items()}
        # A map whose one key looks like a tag is wrapped, so it reads back as a map.
        return {_MAP_TAG: out} if len(out) == 1 and next(iter(out)) in _TAGS else out
    raise InvalidJSONValue(f"cannot convert a {type(value).__name__} to JSON")


def _load_any(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, float):
            expect(math.isfinite(value), "a finite number", value)
        return value
    if isinstance(value, bytes | set | frozenset):
        return value
    if isinstance(value, list | tuple):
        return [_load_any(element) for element in value]
    expect(isinstance(value, Mapping), "a JSON value", value)
    if len(value) == 1:
        tag, inner = next(iter(value.items()))
        if tag == _BINARY_TAG:
            return load_bytes(inner)
        if tag == _SET_TAG:
            expect(isinstance(inner, list), f"a list under {_SET_TAG!r}", inner)
            return {_load_any(element) for element in inner}
        if tag == _MAP_TAG:
            expect(isinstance(inner, Mapping), f"an object under {_MAP_TAG!r}", inner)
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
    expect(isinstance(value, list | tuple), "a list", value)
    element_type = getattr(attribute, "element_type", None)
    if element_type is None:
        return [_load_any(element) for element in value]
    element = element_type()
    conversion = conversion_for(element)
    out = []
    for index, item in enumerate(value):
        try:
            out.append(None if item is None else conversion.load(element, item))
        except InvalidJSONValue as exc:
            raise InvalidJSONValue(f"[{index}]: {exc}") from None
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
            for key, extra in undeclared_members(value).items():
                out[key] = _dump_any(extra)
        return out
    return _dump_any(value)


def _load_map(attribute: Attribute[Any], value: Any) -> Any:
    cls = type(attribute)
    if isinstance(value, MapAttribute):
        return value
    if cls is MapAttribute:  # a raw map: untyped values
        loaded = _load_any(value)
        expect(isinstance(loaded, dict), "an object", value)
        return loaded
    expect(isinstance(value, Mapping), "an object", value)
    extras = issubclass(cls, DynamicMapAttribute)
    values = _load_fields(cls, value, where="", allow_unknown=extras)
    return cls(**values)


# Attribute class -> conversion. A new attribute type plugs in with one entry; subclasses use
# the entry of their nearest listed base.
CONVERSIONS: dict[type[Attribute[Any]], Conversion] = {
    **SCALAR_CONVERSIONS,
    ListAttribute: Conversion(list[Any], _dump_list, _load_list, list[Any]),
    MapAttribute: Conversion(dict[str, Any], _dump_map, _load_map, dict[str, Any]),
}


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
    values = entity.attribute_values
    if isinstance(values, PartialValues) and values.partly:
        # The part read would pass for the whole value (and from_dict() then write it).
        raise values.read_in_part(sorted(values.partly)[0])
    try:
        out = _dump_container(entity)
        for field in dynamic_fields(type(entity)):
            codec = field.codec
            dump = conversion_for(codec).dump
            out[field.name] = {k: dump(codec, v) for k, v in getattr(entity, field.name).items()}
        return out
    except InvalidJSONValue as exc:
        raise ValidationError(f"{type(entity).__qualname__}: {exc}") from None


def _load_dynamic(cls: Any, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` without the dynamic attributes' entries, and those entries loaded."""
    rest = dict(data)
    loaded: dict[str, Any] = {}
    for field in dynamic_fields(cls):
        raw = rest.pop(field.name, None)
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            raise InvalidJSONValue(f"{field.name}: expected an object of name -> value")
        codec = field.codec
        conversion = conversion_for(codec)
        try:
            loaded[field.name] = {k: conversion.load(codec, v) for k, v in raw.items()}
        except (ValueError, TypeError) as exc:
            raise InvalidJSONValue(f"{field.name}: {exc}") from None
    return rest, loaded


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
                raise InvalidJSONValue(f"unknown attribute {where}{key!r} (attributes: {known})")
            values[str(key)] = _load_any(raw)
            continue
        if raw is None:
            continue
        try:
            values[key] = conversion_for(attribute).load(attribute, raw)
        except ValidationError:
            raise
        except (InvalidJSONValue, ValueError, TypeError) as exc:
            raise InvalidJSONValue(f"{where}{key}: {exc}") from None
    return values


def entity_from_dict(cls: type[E], data: Mapping[str, Any], *, partial: bool = False) -> E:
    """See :meth:`dynaorm.Entity.from_dict`."""
    name = cls.__qualname__
    if not isinstance(data, Mapping):
        raise ValidationError(f"{name}.from_dict() takes a mapping, got {type(data).__name__}")
    try:
        data, dynamic = _load_dynamic(cls, data)
        values = _load_fields(cls, data, where="", allow_unknown=False)
    except InvalidJSONValue as exc:
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
    return cls(**values, **dynamic)
