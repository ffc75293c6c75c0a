"""Entity.to_dict() / from_dict(): JSON-safe, exact round trips for every attribute type, and
typed errors for bad input."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from json_models import Address, Everything, Extras, full, shelf
from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from support import requests_sent

from dynaorm import (
    CreatedAtAttribute,
    DecimalAttribute,
    Entity,
    Key,
    Table,
    ValidationError,
    VersionAttribute,
)
from dynaorm.model.json_values import CONVERSIONS, conversion_for


class Required(Entity, table=shelf):
    item_id = UnicodeAttribute()
    name = UnicodeAttribute()
    count = NumberAttribute(default=0)
    primary = Key(pk="REQ#{item_id}", sk="REQ")


def round_trip(entity: Entity) -> tuple[dict[str, Any], Entity]:
    text = json.dumps(entity.to_dict())  # no custom encoder needed
    loaded = json.loads(text)
    return loaded, type(entity).from_dict(loaded)


def test_every_attribute_type_round_trips_exactly() -> None:
    entity = full()
    loaded, again = round_trip(entity)
    assert again == entity
    assert again.to_dict() == loaded
    assert type(again.number) is int
    assert type(again.numbers_list[1]) is float
    assert again.anything[4] == b"\x03"
    assert again.anything[5] == {"a", "b"}
    assert again.anything[8] == {"$set": 1}  # a map that looks like a tag stays a map
    assert again.extras.avatar == b"\x89PNG"
    assert again.extras.seen == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_the_json_form() -> None:
    data = full().to_dict()
    assert data["when"] == "2024-02-29T23:59:59.999999+00:00"
    assert data["binary"] == base64.b64encode(b"\x00\xff\x10").decode()
    assert data["texts"] == ["", "a", "b"]
    assert data["numbers"] == [-2, 1.5, 3]
    assert data["blobs"] == ["AA==", "AQ=="]
    assert data["number"] == 12345678901234567890
    assert data["address"] == {
        "street": "Home",
        "moved_in": "2020-01-01T00:00:00+00:00",
        "photo": None,
    }
    assert data["anything"][4] == {"$binary": "Aw=="}
    assert data["anything"][5] == {"$set": ["a", "b"]}
    assert data["anything"][8] == {"$map": {"$set": 1}}
    assert data["expires"] == "2030-01-01T00:00:01+00:00"
    assert data["version"] == 3
    # Keys and the entity type are not attributes; unset attributes are null.
    assert "PK" not in data
    assert "_type" not in data
    assert Everything(item_id="x").to_dict()["text"] is None


def test_offsets_are_kept_as_instants() -> None:
    plus_five = timezone(timedelta(hours=5, minutes=30))
    entity = Everything(item_id="i", when=datetime(2024, 1, 1, 5, 30, tzinfo=plus_five))
    assert entity.to_dict()["when"] == "2024-01-01T05:30:00+05:30"
    again = Everything.from_dict(entity.to_dict())
    assert again.when == datetime(2024, 1, 1, tzinfo=UTC)
    assert again == entity


def test_decimal_attribute_round_trips_as_exact_text() -> None:
    assert conversion_for(DecimalAttribute()).dump(DecimalAttribute(), Decimal("0.10")) == "0.10"

    class Priced(Entity, table=Table("json-priced")):
        sku = UnicodeAttribute()
        price = DecimalAttribute(null=True)
        primary = Key(pk="SKU#{sku}", sk="SKU")

    entity = Priced(sku="s", price=Decimal("0.1000000000000000000000000000000000001"))
    loaded, again = round_trip(entity)
    assert loaded["price"] == "0.1000000000000000000000000000000000001"
    assert again.price == entity.price
    with pytest.raises(ValidationError, match=r"Priced: price: expected a decimal"):
        Priced.from_dict({"sku": "s", "price": 0.1})

    @settings(max_examples=100, deadline=None)
    @given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
    def exact(value: Decimal) -> None:
        _, again = round_trip(Priced(sku="s", price=value))
        assert again.price == value
        assert str(again.price) == str(value)  # the very digits, exponent included

    exact()


def test_every_conversion_entry_is_reachable_by_subclasses() -> None:
    assert conversion_for(VersionAttribute()) is CONVERSIONS[NumberAttribute]
    assert conversion_for(CreatedAtAttribute()) is CONVERSIONS[UTCDateTimeAttribute]
    assert conversion_for(Extras()) is CONVERSIONS[MapAttribute]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"item_id": 1}, r"Everything: item_id: expected a string, got int 1"),
        ({"item_id": "i", "number": "12"}, r"Everything: number: expected a finite number"),
        ({"item_id": "i", "number": True}, r"number: expected a finite number"),
        ({"item_id": "i", "flag": "yes"}, r"flag: expected true or false"),
        ({"item_id": "i", "binary": "@@@"}, r"binary: expected base64 text"),
        ({"item_id": "i", "when": "yesterday"}, r"when: expected an ISO 8601"),
        ({"item_id": "i", "when": "2024-01-01T00:00:00"}, r"when: expected .* with an offset"),
        ({"item_id": "i", "expires": "2030-01-01T00:00:00.5+00:00"}, r"expires: .*whole seconds"),
        ({"item_id": "i", "texts": "abc"}, r"texts: expected a list"),
        ({"item_id": "i", "texts": ["a", 1]}, r"texts: expected a string"),
        ({"item_id": "i", "numbers_list": [1, "x"]}, r"numbers_list: \[1\]: expected a finite"),
        ({"item_id": "i", "address": {"street": 5}}, r"address: street: expected a string"),
        ({"item_id": "i", "address": {"road": "x"}}, r"address: unknown attribute 'road'"),
        ({"item_id": "i", "addresses": [{"street": "a"}, 3]}, r"addresses: \[1\]: expected an"),
        ({"item_id": "i", "document": {"x": {1, 2}}}, r"document: expected a JSON value"),
        ({"item_id": "i", "colour": "red"}, r"Everything: unknown attribute 'colour'"),
        ({"item_id": "i", "anything": [{"$binary": 5}]}, r"anything: expected base64 text"),
    ],
)
def test_bad_input_is_refused_naming_entity_and_attribute(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Everything.from_dict(data)


def test_required_attributes_must_be_present_unless_partial() -> None:
    with pytest.raises(ValidationError, match=r"Required: missing required attribute\(s\) name"):
        Required.from_dict({"item_id": "r1"})
    with pytest.raises(ValidationError, match=r"missing required .*name"):
        Required.from_dict({"item_id": "r1", "name": None})
    assert Required.from_dict({"item_id": "r1"}, partial=True).name is None
    assert Required.from_dict({"item_id": "r1", "name": "n"}).count == 0  # the default
    with pytest.raises(ValidationError, match=r"takes a mapping"):
        Required.from_dict([("item_id", "r1")])  # type: ignore[arg-type]


def test_from_dict_accepts_the_python_values_of_typed_attributes_too() -> None:
    # Untyped values (raw maps, untyped lists, dynamic-map extras) take only the JSON form:
    # there a dict such as {"$set": [...]} is a tag.
    entity = full()
    untyped = {"anything", "raw", "extras"}
    native = {n: getattr(entity, n) for n in entity.get_attributes() if n not in untyped}
    native.update({n: entity.to_dict()[n] for n in untyped})
    assert Everything.from_dict(native) == entity


def test_saved_and_read_back_through_the_server(
    table_factory: Callable[[Table], Table],
) -> None:
    table_factory(shelf)
    entity = full(version=None)  # a new item: save() writes version 1
    loaded, again = round_trip(entity)
    with requests_sent(shelf) as sent:
        again.save()
    assert sent == ["PutItem"]
    stored = Everything.get(item_id="i1", consistent=True)
    assert stored is not None
    # What was saved (save() bumped the version and the update time) reads back exactly.
    assert Everything.from_dict(json.loads(json.dumps(stored.to_dict()))) == again
    expected = dict(loaded, version=again.version, updated=stored.to_dict()["updated"])
    assert stored.to_dict() == expected


# -- property: any value of every type round-trips -------------------------------------------

utc_times = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
ttl_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8)
numbers = st.integers(-(10**30), 10**30) | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | texts | numbers | st.binary(max_size=8)
untyped = st.recursive(
    scalars
    | st.sets(texts, min_size=1, max_size=3)
    | st.sets(st.integers(-100, 100), min_size=1, max_size=3)
    | st.sets(st.binary(max_size=4), min_size=1, max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_values = st.recursive(
    st.none() | st.booleans() | texts | numbers,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
addresses = st.builds(
    Address,
    street=texts,
    moved_in=st.none() | utc_times,
    photo=st.none() | st.binary(max_size=8),
)


@st.composite
def extras_maps(draw: st.DrawFn) -> Extras:
    extras = Extras(rating=draw(st.none() | numbers), seen=draw(st.none() | utc_times))
    for key, value in draw(
        st.dictionaries(st.sampled_from(["x", "y", "$set", "nick"]), untyped, max_size=2)
    ).items():
        extras[key] = value
    return extras


entities = st.fixed_dictionaries(
    {
        "item_id": texts.filter(lambda t: "#" not in t and t != ""),
        "text": st.none() | texts,
        "number": st.none() | numbers,
        "binary": st.none() | st.binary(max_size=16),
        "flag": st.none() | st.booleans(),
        "when": st.none() | utc_times,
        "texts": st.none() | st.sets(texts, max_size=4),
        "numbers": st.none() | st.sets(numbers, max_size=4),
        "blobs": st.none() | st.sets(st.binary(max_size=4), max_size=4),
        "numbers_list": st.none() | st.lists(numbers, max_size=4),
        "addresses": st.none() | st.lists(addresses, max_size=3),
        "anything": st.none() | st.lists(untyped, max_size=4),
        "address": st.none() | addresses,
        "raw": st.none() | st.dictionaries(texts, untyped, max_size=3),
        "extras": st.none() | extras_maps(),
        "document": st.none() | json_values,
        "expires": st.none() | ttl_times,
        "version": st.none() | st.integers(1, 10**6),
        "created": st.none() | utc_times,
    }
).map(lambda values: Everything(**{k: v for k, v in values.items() if v is not None}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entities)
def test_property_from_dict_of_to_dict_is_exact(entity: Everything) -> None:
    loaded, again = round_trip(entity)
    assert again == entity
    assert again.to_dict() == loaded


def test_the_property_would_see_a_lossy_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sanity check of the property's power: a conversion that rounds floats is caught.
    from dynaorm.model import json_values as _json

    lossy = _json.Conversion(
        float, lambda a, v: round(v, 1), _json.CONVERSIONS[NumberAttribute].load
    )
    monkeypatch.setitem(_json.CONVERSIONS, NumberAttribute, lossy)
    _, again = round_trip(Everything(item_id="i", number=1.25))
    assert again != Everything(item_id="i", number=1.25)
