"""Entities encode and decode exactly as PynamoDB itself does.

dynaorm encodes and decodes entities with plans worked out once per class (``_encode_plan``,
``_decode_plan``), standing in for PynamoDB's per-attribute ``AttributeContainer`` methods. Two
references check them, for every attribute type, set or absent:

* a plain PynamoDB ``Model`` declared with the same attributes: ``Model.serialize()`` and
  ``Model.from_raw_data()``, PynamoDB's public serialization;
* PynamoDB's own ``AttributeContainer._container_serialize``/``_container_deserialize`` run
  on the entity instance itself, the methods the plans replace.

``to_item()`` must be PynamoDB's serialization plus the attributes dynaorm adds (entity type,
primary key), and ``from_item()`` of it must hold what PynamoDB decodes. A new PynamoDB major
version (pyproject.toml bounds it) is admitted once this passes on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from map_models import Address, Circle, Extras, Shape, Square
from pynamodb.attributes import (
    Attribute,
    AttributeContainer,
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
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
from pynamodb.models import Model

from dynaorm import (
    CreatedAtAttribute,
    DecimalAttribute,
    Entity,
    Key,
    Table,
    UpdatedAtAttribute,
    VersionAttribute,
)


class PricedAddress(Address):
    price = DecimalAttribute(null=True)


class Shouted(UnicodeAttribute):
    """Its own ``__set__`` (the plans then set through the descriptor)."""

    def __set__(self, instance: Any, value: Any) -> None:
        super().__set__(instance, value.upper() if isinstance(value, str) else value)


class Trimmed(UnicodeAttribute):
    """Its own ``__get__`` (the plans then read through the descriptor)."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        value = super().__get__(instance, owner)
        return value.strip() if instance is not None and isinstance(value, str) else value


class Counted(NumberAttribute):
    """Its own ``get_value`` (the plans then call it)."""

    def get_value(self, value: dict[str, Any]) -> Any:
        return super().get_value(value)


def attributes() -> dict[str, Attribute[Any]]:
    """The attributes both classes declare (fresh instances for each)."""
    return {
        "text": UnicodeAttribute(null=True),
        "renamed": UnicodeAttribute(attr_name="r", null=True),
        "number": NumberAttribute(null=True),
        "price": DecimalAttribute(null=True),
        "blob": BinaryAttribute(null=True, legacy_encoding=False),
        "flag": BooleanAttribute(null=True),
        "texts": UnicodeSetAttribute(null=True),
        "numbers": NumberSetAttribute(null=True),
        "blobs": BinarySetAttribute(null=True, legacy_encoding=False),
        "anything": ListAttribute(null=True),
        "counts": ListAttribute(of=NumberAttribute, null=True),
        "addresses": ListAttribute(of=PricedAddress, null=True),
        "raw_map": MapAttribute(null=True),
        "address": PricedAddress(null=True),
        "shape": Shape(null=True),
        "extras": Extras(null=True),
        "doc": JSONAttribute(null=True),
        "at": UTCDateTimeAttribute(null=True),
        "created": CreatedAtAttribute(),
        "updated": UpdatedAtAttribute(attr_name="u"),
        "expires": TTLAttribute(null=True),
        "nothing": NullAttribute(null=True),
        "shouted": Shouted(null=True),
        "trimmed": Trimmed(null=True),
        "counted": Counted(null=True),
        "version": VersionAttribute(),
    }


equivalence = Table("test-pynamodb-equivalence")

Everything: Any = type(Entity)(
    "Everything",
    (Entity,),
    {
        "__module__": __name__,
        "item_id": UnicodeAttribute(),
        **attributes(),
        "primary": Key(pk="E#{item_id}", sk="E"),
    },
    table=equivalence,
)


class _Meta:
    table_name = "test-pynamodb-equivalence"
    region = "us-east-1"


PlainModel: Any = type(Model)(
    "PlainModel",
    (Model,),
    {
        "__module__": __name__,
        "Meta": _Meta,
        "item_id": UnicodeAttribute(hash_key=True),
        **attributes(),
    },
)

# -- values ----------------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
ints = st.integers(-(10**30), 10**30)
floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: f == 0 or 1e-120 < abs(f) < 1e120
)
numbers = ints | floats
decimals = st.decimals(-(10**20), 10**20, allow_nan=False, allow_infinity=False, places=8)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
) | st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(9000, 1, 1),
    timezones=st.sampled_from([timezone(timedelta(hours=5, minutes=30)), UTC]),
)
# What raw maps and untyped lists hold: PynamoDB picks each member's type from its value.
raw_scalars = st.one_of(texts, ints, st.booleans(), st.none(), st.binary(max_size=6))
raw_values = st.recursive(
    raw_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
json_values = st.recursive(
    st.one_of(texts, ints, st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
addresses = st.builds(
    PricedAddress,
    street=texts,
    zip_code=st.none() | texts,
    since=st.none() | moments,
    price=st.none() | decimals,
)
shapes = st.builds(Circle, radius=ints) | st.builds(Square, side=ints)
extra_names = texts.filter(lambda n: n not in ("known", "attribute_values"))
extras = st.builds(
    lambda known, more: Extras(known=known, **more),
    st.none() | texts,
    st.dictionaries(extra_names, raw_values, max_size=3),
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "text": optional(texts),
    "renamed": optional(texts),
    "number": optional(numbers),
    "price": optional(decimals),
    "blob": optional(st.binary(max_size=8)),
    "flag": optional(st.booleans()),
    "texts": optional(st.sets(texts, max_size=3)),
    "numbers": optional(st.sets(numbers, max_size=3)),
    "blobs": optional(st.sets(st.binary(max_size=6), max_size=3)),
    "anything": optional(st.lists(raw_values, max_size=3)),
    "counts": optional(st.lists(ints, max_size=3)),
    "addresses": optional(st.lists(addresses, max_size=2)),
    "raw_map": optional(st.dictionaries(texts, raw_values, max_size=3)),
    "address": optional(addresses),
    "shape": optional(shapes),
    "extras": optional(extras),
    "doc": optional(json_values),
    "at": optional(moments),
    "created": optional(moments),
    "updated": optional(moments),
    "expires": optional(moments.map(lambda m: m.replace(year=min(m.year, 2999)))),
    "nothing": st.none(),
    "shouted": optional(texts),
    "trimmed": optional(texts),
    "counted": optional(ints),
    # (absent or a number: PynamoDB's VersionAttribute refuses to be set to None)
    "version": st.integers(0, 10**9),
}
VALUES = st.fixed_dictionaries({}, optional=STRATEGIES)
ITEM_IDS = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)

# -- comparing -------------------------------------------------------------------------------


def canonical(value: Any) -> Any:
    """A serialized value with set members sorted (sets have no order)."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """A decoded value comparable with ``==`` (map attributes compare by identity)."""
    if isinstance(value, MapAttribute):
        members = {k: plain(v) for k, v in value.attribute_values.items()}
        return (type(value).__name__, members)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def decoded(instance: Any) -> dict[str, Any]:
    return {name: plain(getattr(instance, name)) for name in PlainModel.get_attributes()}


def added_by_dynaorm(item_id: str) -> dict[str, dict[str, str]]:
    """What ``to_item()`` writes besides the attributes: the entity type and the primary key."""
    return {
        equivalence.type_attribute: {"S": Everything.__type_name__},
        equivalence.pk: {"S": f"E#{item_id}"},
        equivalence.sk: {"S": "E"},
    }


# -- properties ------------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(item_id=ITEM_IDS, values=VALUES)
def test_to_item_is_pynamodbs_serialization(item_id: str, values: dict[str, Any]) -> None:
    entity = Everything(item_id=item_id, **values)
    model = PlainModel(item_id=item_id, **values)
    reference = model.serialize(null_check=True)
    assert canonical(entity.to_item()) == canonical({**reference, **added_by_dynaorm(item_id)})
    # The plan against the method it stands in for, on the same instance.
    own = AttributeContainer._container_serialize(entity, null_check=True)
    assert canonical(entity._container_serialize(null_check=True)) == canonical(own)


@SETTINGS
@given(item_id=ITEM_IDS, values=VALUES)
def test_from_item_is_pynamodbs_deserialization(item_id: str, values: dict[str, Any]) -> None:
    item = Everything(item_id=item_id, **values).to_item()
    entity = Everything.from_item(item)
    assert decoded(entity) == decoded(PlainModel.from_raw_data(item))
    # The plan against the method it stands in for, on an instance of the entity.
    slow = Everything.__new__(Everything)
    AttributeContainer._container_deserialize(slow, dict(item))
    assert decoded(entity) == decoded(slow)
    assert entity.attribute_values.keys() == slow.attribute_values.keys()


def test_every_attribute_type_is_covered() -> None:
    # A new attribute in attributes() needs a strategy in VALUES, and the reverse.
    assert set(STRATEGIES) == set(attributes())


def test_the_plans_stand_in_for_pynamodbs_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    # The properties compare the plans with PynamoDB, not PynamoDB with itself: an entity of
    # top-level attributes encodes and decodes without PynamoDB's container methods.
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("PynamoDB's own container method ran")

    monkeypatch.setattr(AttributeContainer, "_container_serialize", refuse)
    monkeypatch.setattr(AttributeContainer, "_container_deserialize", refuse)
    item = Everything(item_id="p", text="x", texts={"a"}, version=3).to_item()
    assert Everything.from_item(item).texts == {"a"}


def test_a_decimal_keeps_every_digit_both_ways() -> None:
    price = Decimal("0.1000000000000000000000000000000000001")
    item = Everything(item_id="d", price=price).to_item()
    assert item["price"] == PlainModel(item_id="d", price=price).serialize()["price"]
    assert Everything.from_item(item).price == PlainModel.from_raw_data(item).price == price


# The fast serializers of the encode plan (plain values of raw maps and untyped lists, numbers,
# UTC datetimes) against the attribute's own serialize, on values beyond the item strategies:
# every float (NaN, infinities, -0.0), huge ints, any year, naive and zoned datetimes, sets,
# None and subclasses, which must take PynamoDB's own path and fail the same way.
class _Text(str):
    pass


any_scalars = st.one_of(
    st.text(max_size=4),
    st.builds(_Text, st.text(max_size=3)),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.binary(max_size=4),
    st.sets(st.text(max_size=2), max_size=2),
    st.sets(st.integers(), max_size=2),
)
any_values = st.recursive(
    any_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)
any_moments = st.datetimes(
    timezones=st.none() | st.just(UTC) | st.just(timezone(timedelta(hours=-3)))
)


def _outcome(serialize: Any, value: Any) -> Any:
    try:
        return ("ok", serialize(value))
    except Exception as exc:
        return ("error", type(exc))


@pytest.mark.parametrize(
    "attribute",
    [MapAttribute(), ListAttribute(), NumberAttribute(), UTCDateTimeAttribute()],
    ids=type,
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_serializers_are_pynamodbs(attribute: Attribute[Any], data: Any) -> None:
    from dynaorm.model.pynamodb_compat import _fast_serializer

    if isinstance(attribute, UTCDateTimeAttribute):
        value = data.draw(any_moments)
    elif isinstance(attribute, MapAttribute):
        value = data.draw(st.dictionaries(st.text(max_size=3), any_values, max_size=4))
        if data.draw(st.booleans()):  # as PynamoDB stores a dict set on a raw map
            value = MapAttribute(**value)
    elif isinstance(attribute, ListAttribute):
        value = data.draw(st.lists(any_values, max_size=4))
    else:
        value = data.draw(st.one_of(st.integers(), st.floats(), st.booleans()))
    fast = _fast_serializer(attribute, attribute.serialize)
    assert _outcome(fast, value) == _outcome(attribute.serialize, value)


# -- the one-pass size check of to_item ------------------------------------------------------


@SETTINGS
@given(item_id=ITEM_IDS, values=VALUES)
def test_the_measured_encoding_is_the_walk_of_the_item(
    item_id: str, values: dict[str, Any]
) -> None:
    # encode_measured sizes the attributes as it encodes them: the same bytes the walk of the
    # encoded item counts (None where the walk is unsure too; these names are ASCII).
    from dynaorm.base.sizes import plain_item_size
    from dynaorm.model.pynamodb_compat import encode, encode_measured

    entity = Everything(item_id=item_id, **values)
    item, size = encode_measured(entity)
    assert item == encode(entity, True)
    walked = plain_item_size(item)
    assert size == walked
    # And to_item, which skips the walk when it is sure, checks and sizes as the walk does.
    whole = entity.to_item()
    assert plain_item_size(whole) is None or plain_item_size(whole) <= 400 * 1024


@pytest.mark.parametrize(
    "attribute", [MapAttribute(), ListAttribute(), NumberAttribute()], ids=type
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_deserializers_are_pynamodbs(attribute: Attribute[Any], data: Any) -> None:
    from dynaorm.model.fast_decode import fast_deserializer

    if isinstance(attribute, MapAttribute):
        value = data.draw(st.dictionaries(st.text(max_size=3), any_values, max_size=4))
    elif isinstance(attribute, ListAttribute):
        value = data.draw(st.lists(any_values, max_size=4))
    else:
        value = data.draw(st.one_of(st.integers(), st.floats(allow_nan=False), st.decimals()))
    try:
        stored = attribute.serialize(value)
    except Exception:
        return  # nothing PynamoDB would store
    if isinstance(attribute, NumberAttribute):  # text DynamoDB may hand back, too
        stored = data.draw(st.sampled_from([stored, str(value), f" {stored}", "01", "1e5"]))
    fast = fast_deserializer(attribute)
    assert fast is not None
    assert _outcome(fast, stored) == _outcome(attribute.deserialize, stored)
