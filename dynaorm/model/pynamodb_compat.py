"""Every use of PynamoDB's internals, in one place: how entities encode to and decode from
DynamoDB's typed form without PynamoDB's per-attribute lookups.

PynamoDB's ``AttributeContainer`` serializes through ``_container_serialize`` and
deserializes through ``_container_deserialize``, looking up each attribute's Python name,
descriptor and type on every call. An entity class works this out once (a *plan*), then
encodes and decodes with plain loops. The plans read PynamoDB's private per-class state
(``_dynamo_to_python_attrs``, ``_discriminator``, ``attribute_values``), which is why this
module exists: ``pyproject.toml`` bounds the PynamoDB version, and
``tests/model/test_pynamodb_equivalence.py`` checks the plans give exactly what PynamoDB's own
methods give. Classes with a discriminator attribute fall back to PynamoDB's own methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.attributes import (
    Attribute,
    AttributeContainer,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import AttributeNullError

from dynaorm.base.class_cache import per_class
from dynaorm.base.errors import ValidationError
from dynaorm.base.sizes import plain_item_size, plain_value_size
from dynaorm.expressions.typed_values import typed_value
from dynaorm.model.dynamic import copy_dynamic
from dynaorm.model.fast_decode import fast_deserializer
from dynaorm.model.stored_form import SLOT as _STORED_FORM
from dynaorm.model.values import ENCODING_ERRORS, invalid_value, unguarded

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = [
    "canonical",
    "decode_into",
    "encode",
    "encode_measured",
    "encode_plan",
    "python_names",
    "typed_attribute_value",
    "undeclared_members",
    "with_values",
]

# Per attribute: Python name, stored name, the attribute, the attribute_values key its
# descriptor stores under (None when the attribute's class has a __set__ of its own), its
# DynamoDB type (None when its class has a get_value of its own), and its deserialize (None
# when that returns the stored value as it is; dynaorm.model.fast_decode's for plain values).
_DecodeStep = tuple[str, str, Attribute[Any], str | None, str | None, Callable[[Any], Any] | None]
_DecodePlan = tuple[tuple[tuple[str, Any], ...], tuple[_DecodeStep, ...]]

# Per attribute: Python name, stored name, the attribute, the attribute_values key its
# descriptor reads (None when its class has a __get__ of its own), whether it serializes with
# null_check (lists and maps), whether it may be null, and its serialize without the guard of
# dynaorm.model.values (whose errors encode() raises itself, without a call's cost).
E = TypeVar("E", bound="EntityBase")

_EncodeStep = tuple[str, str, Attribute[Any], str | None, bool, bool, Callable[..., Any]]


def python_names(cls: type[AttributeContainer]) -> dict[str, str]:
    """Stored attribute name -> Python name, for the attributes declared with ``attr_name``."""
    renamed: dict[str, str] = getattr(cls, "_dynamo_to_python_attrs", {})
    return renamed


def encode_plan(cls: type[EntityBase]) -> tuple[_EncodeStep, ...] | None:
    """How to encode instances of ``cls`` (worked out once per class); ``None`` when
    PynamoDB's own encoding must run (entities with a discriminator attribute)."""
    return per_class(cls, "_dynaorm_encode_plan", _build_encode_plan)


def _build_encode_plan(cls: type[EntityBase]) -> tuple[_EncodeStep, ...] | None:
    plan: tuple[_EncodeStep, ...] | None = None
    if not getattr(cls, "_discriminator", None):
        renamed = python_names(cls)
        plan = tuple(
            (
                name,
                a.attr_name,
                a,
                renamed.get(a.attr_name, a.attr_name)
                if type(a).__get__ is Attribute.__get__
                else None,
                isinstance(a, ListAttribute | MapAttribute),
                bool(a.null),
                _fast_serializer(a, unguarded(a)),
            )
            for name, a in cls.get_attributes().items()
        )
    return plan


class _NotPlain(Exception):
    """A value :func:`_plain_value` leaves to PynamoDB's own serialization."""


def _plain_value(value: Any) -> dict[str, Any]:
    """A value of a raw map or an untyped list in typed form, exactly as PynamoDB's
    ``_get_class_for_serialize(value).serialize(value)`` gives it, for the plain types
    (``str``, ``bool``, ``int``, finite ``float``, ``bytes``, ``dict``, ``list``, exactly
    those types); raises ``_NotPlain`` for any other (sets, ``None``, map instances,
    subclasses, NaN and infinities), which PynamoDB then serializes itself."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is dict:
        return {"M": {name: _plain_value(member) for name, member in value.items()}}
    if kind is list:
        return {"L": [_plain_value(member) for member in value]}
    if kind is bool:
        return {"BOOL": value}
    if kind is int:
        return {"N": int.__repr__(value)}  # what json.dumps (NumberAttribute) writes
    if kind is float and value - value == 0:
        return {"N": float.__repr__(value)}
    if kind is bytes:
        return {"B": value}
    raise _NotPlain


def _fast_serializer(
    attribute: Attribute[Any], serialize: Callable[..., Any]
) -> Callable[..., Any]:
    """``serialize`` (the attribute's, type check included), with the plain values of a raw
    map, an untyped list or a number encoded without PynamoDB's per-value class lookups and
    ``json.dumps``; the output is the same (``tests/model/test_pynamodb_equivalence.py``).
    The same for a ``datetime`` in UTC (``strftime`` and ``astimezone`` skipped). Any other
    value, and every attribute class of its own, goes to ``serialize``. A value of the exact
    plain type passes the type check, so it is not run for it."""
    cls = type(attribute)
    if cls is MapAttribute:

        def encode_map(value: Any, null_check: bool = True) -> Any:
            kind = type(value)
            # A dict, or what PynamoDB stores for one: a raw map holding it as its
            # attribute_values (whose serialize walks those, every member undeclared).
            members = (
                value
                if kind is dict
                else value.__dict__.get("attribute_values")
                if kind is MapAttribute
                else None
            )
            if type(members) is dict:
                try:
                    return {name: _plain_value(member) for name, member in members.items()}
                except (_NotPlain, RecursionError):
                    pass
            return serialize(value, null_check=null_check)

        return encode_map
    if cls is ListAttribute and getattr(attribute, "element_type", None) is None:

        def encode_list(value: Any, null_check: bool = True) -> Any:
            if type(value) is list:
                try:
                    return [_plain_value(member) for member in value]
                except (_NotPlain, RecursionError):
                    pass
            return serialize(value, null_check=null_check)

        return encode_list
    if cls.serialize is NumberAttribute.serialize:

        def encode_number(value: Any) -> Any:
            kind = type(value)
            if kind is int:
                return int.__repr__(value)
            if kind is float and value - value == 0:
                return float.__repr__(value)
            return serialize(value)

        return encode_number
    if cls.serialize is UTCDateTimeAttribute.serialize:

        def encode_datetime(value: Any) -> Any:
            # PynamoDB's format ('%Y-%m-%dT%H:%M:%S.%f+0000', the year zero-padded) for a
            # time in UTC or without a zone (which PynamoDB takes as UTC).
            if type(value) is datetime and (value.tzinfo is None or value.tzinfo is UTC):
                return (
                    f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
                    f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}+0000"
                )
            return serialize(value)

        return encode_datetime
    return serialize


def typed_attribute_value(cls: type[EntityBase], name: str, value: Any) -> dict[str, Any]:
    """``typed_value(cls.get_attributes()[name], value)``, a number or a ``datetime`` in UTC
    encoded as :func:`encode` encodes it (without PynamoDB's ``json.dumps`` or
    ``strftime``); the same output and errors (the attribute's own ``serialize`` runs for any
    other value)."""
    fast = per_class(cls, "_dynaorm_typed_serializers", _typed_serializers).get(name)
    if fast is None or value is None or isinstance(value, dict):
        return typed_value(cls.get_attributes()[name], value)
    attribute, serialize = fast
    return {attribute.attr_type: serialize(value)}


def _typed_serializers(
    cls: type[EntityBase],
) -> dict[str, tuple[Attribute[Any], Callable[..., Any]]]:
    out = {}
    for name, a in cls.get_attributes().items():
        fast = (
            None
            if isinstance(a, ListAttribute | MapAttribute)
            else _fast_serializer(a, a.serialize)
        )
        if fast is not None and fast is not a.serialize:
            out[name] = (a, fast)
    return out


def _decode_plan(cls: type[EntityBase]) -> _DecodePlan | None:
    """How to decode items of ``cls`` (worked out once per class); ``None`` when PynamoDB's
    own decoding must run (entities with a discriminator attribute)."""
    return per_class(cls, "_dynaorm_decode_plan", _build_decode_plan)


def _build_decode_plan(cls: type[EntityBase]) -> _DecodePlan | None:
    plan: _DecodePlan | None = None
    if not getattr(cls, "_discriminator", None):
        attributes = cls.get_attributes()
        # What _set_defaults(_user_instantiated=False) sets, in the same order.
        defaults = tuple(
            (name, a.default) for name, a in attributes.items() if a.default is not None
        )
        renamed = python_names(cls)
        steps = tuple(
            (
                name,
                a.attr_name,
                a,
                renamed.get(a.attr_name, a.attr_name)
                if type(a).__set__ is Attribute.__set__
                else None,
                a.attr_type if type(a).get_value is Attribute.get_value else None,
                None
                if type(a).deserialize is Attribute.deserialize
                else fast_deserializer(a) or a.deserialize,
            )
            for name, a in attributes.items()
        )
        plan = (defaults, steps)
    return plan


def encode(
    instance: EntityBase, null_check: bool, skip: frozenset[str] = frozenset()
) -> dict[str, dict[str, Any]]:
    """The instance's attributes in DynamoDB's typed form, as PynamoDB's
    ``_container_serialize`` gives them, leaving out the attributes ``skip`` names."""
    return _encode(instance, null_check, skip, False)[0]


def encode_measured(instance: EntityBase) -> tuple[dict[str, dict[str, Any]], int | None]:
    """:func:`encode` with ``null_check``, and the bytes the attributes count toward the item
    size when every value plainly passes the value checks
    (:func:`~dynaorm.base.sizes.plain_item_size` of the result, measured in the same pass);
    ``None`` when some value needs the full checks."""
    return _encode(instance, True, frozenset(), True)


def _encode(
    instance: EntityBase, null_check: bool, skip: frozenset[str], measure: bool
) -> tuple[dict[str, dict[str, Any]], int | None]:
    steps = encode_plan(type(instance))
    if steps is None:
        whole: dict[str, dict[str, Any]] = AttributeContainer._container_serialize(
            instance, null_check
        )
        return whole, (plain_item_size(whole) if measure else None)
    out: dict[str, dict[str, Any]] = {}
    size: int | None = 0 if measure else None
    stored = instance.attribute_values
    for name, physical, attribute, slot, container, nullable, serialize in steps:
        if name in skip:
            continue
        value = stored.get(slot) if slot is not None else getattr(instance, name)
        try:
            if isinstance(value, MapAttribute) and not value.validate(null_check=null_check):
                raise ValueError(f"Attribute '{name}' is not correctly typed")
            if value is None:
                serialized = None
            elif container:
                serialized = serialize(value, null_check=null_check)
            else:
                serialized = serialize(value)
        except AttributeNullError as exc:
            exc.prepend_path(name)
            raise
        except ENCODING_ERRORS as exc:
            if value is None or isinstance(exc, ValidationError) or "correctly typed" in str(exc):
                raise
            # What the attribute's guard raises, named by this entity (see dynaorm.model.values).
            who = f"{type(instance).__qualname__}.{name}"
            raise ValidationError(invalid_value(who, attribute, value, exc)) from None
        if serialized is None:
            if null_check and not nullable:
                raise AttributeNullError(name)
            continue
        typed = out[physical] = {attribute.attr_type: serialized}
        if size is not None:
            # As plain_item_size measures it: text inline, any other value by the fast path.
            if not physical.isascii():
                size = None
            elif type(serialized) is str and attribute.attr_type == "S" and serialized.isascii():
                size += len(physical) + len(serialized)
            else:
                measured = plain_value_size(typed)
                size = None if measured is None else size + len(physical) + measured
    return out, size


def decode_into(instance: EntityBase, attribute_values: dict[str, dict[str, Any]]) -> None:
    """Set ``instance``'s attributes from a raw item, as PynamoDB's ``_container_deserialize``
    does (defaults first, then every stored attribute)."""
    plan = _decode_plan(type(instance))
    if plan is None:
        AttributeContainer._container_deserialize(instance, attribute_values)
        return
    defaults, steps = plan
    values: dict[str, Any] = {}
    instance.attribute_values = values
    for name, default in defaults:
        value = default() if callable(default) else default
        if value is not None:
            setattr(instance, name, value)
    for name, physical, attribute, slot, attr_type, deserialize in steps:
        raw = attribute_values.get(physical)
        if raw and "NULL" not in raw:
            # attribute.get_value(raw) inlined (it raises for a value of another type).
            value = raw[attr_type] if attr_type in raw else attribute.get_value(raw)
            if deserialize is not None:
                value = deserialize(value)
            if slot is None:
                setattr(instance, name, value)
            else:
                values[slot] = value


def with_values(instance: E, values: Mapping[str, Any]) -> E:
    """A shallow copy of ``instance`` with ``values`` (by Python name) set; the instance is
    unchanged. The copy shares every other value with it, so it is for serializing at once,
    not for keeping.

    An entity keeps its values in ``attribute_values`` (as PynamoDB's ``AttributeContainer``
    does); the copy is made without running ``__init__`` (no defaults, no checks).

    Example:
        >>> with_values(order, {"status": "PAID"}).status  # doctest: +SKIP
        'PAID'
    """
    cls = type(instance)
    copy = cls.__new__(cls)
    copy.attribute_values = dict(instance.attribute_values)
    if _STORED_FORM in instance.__dict__:  # how it was stored (a preserve_items table)
        copy.__dict__[_STORED_FORM] = instance.__dict__[_STORED_FORM]
    copy_dynamic(copy)
    for name, value in values.items():
        setattr(copy, name, value)
    return copy


def undeclared_members(value: MapAttribute[Any, Any]) -> dict[str, Any]:
    """The members of a ``DynamicMapAttribute`` value that its class does not declare.

    PynamoDB keeps them among ``attribute_values``, next to the declared ones; its decoding
    also leaves an ``"attribute_values"`` entry there, which is not a member.

    Example:
        >>> undeclared_members(settings_value)  # doctest: +SKIP
        {'colour': 'red'}
    """
    declared = {*value.get_attributes(), "attribute_values"}
    return {k: v for k, v in value.attribute_values.items() if k not in declared}


def canonical(value: Any) -> Any:
    """A serialized item with set members sorted: equal sets may iterate in different orders."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value
