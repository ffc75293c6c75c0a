"""The compiled item encoder of an entity class gives exactly what the general path gives.

``to_item()`` first tries the class's compiled encoder (``dynaorm.model.compiled_items``) and
takes the general path when it declines. For generated instances (plain and hostile values of
every attribute kind it writes out, sparse and shared index keys, cased, literal, number and
datetime templates), ``to_item()`` must return the general path's item, member for member and
in the same order, or raise the same error; and whenever the encoder accepts an instance, its
item must be valid and the size it measured must be the exact item size.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from dynaorm import (
    CreatedAtAttribute,
    DynamicAttributes,
    Entity,
    Index,
    Key,
    Table,
    VersionAttribute,
)
from dynaorm.base.sizes import item_size
from dynaorm.model.compiled_items import item_encoder
from dynaorm.model.validation import validate_item

table = Table(
    "compiled-items",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="Data"),
        Index("GSI2", pk="GSI2PK", sk="Data"),
        Index("GSI3", pk="GSI3PK", sk="GSI3SK"),
    ],
)


class Order(Entity, table=table):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)
    total = NumberAttribute(null=True)
    count = NumberAttribute(null=True)
    gift = BooleanAttribute(null=True)
    placed_at = UTCDateTimeAttribute(null=True)
    tags = UnicodeSetAttribute()
    address = MapAttribute(null=True)  # type: ignore[var-annotated]
    lines = ListAttribute(null=True)  # type: ignore[var-annotated]
    label = UnicodeAttribute(attr_name="Label Text", null=True)
    data = UnicodeAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{data}", casing="upper")
    by_region = Key(index="GSI2", pk="{region}-R", sk="{data}", delimiter=None)
    by_time = Key(index="GSI3", pk="C{count:05d}", sk="{placed_at:seconds}")


class Required(Entity, table=table):
    name = UnicodeAttribute()
    score = NumberAttribute()
    flag = BooleanAttribute()
    when = UTCDateTimeAttribute()
    doc = MapAttribute()  # type: ignore[var-annotated]
    primary = Key(pk="R#{name}", sk="R")


texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "#", "a#b", "é", "\ud800", "x-R", "-R", "PAID", "ünï"]),
)
numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, "12", 1e20, 1e-7, -0.0]),
)
times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 1, 1),
        timezones=st.just(timezone(timedelta(hours=2))),
    ),
    st.just("2026-01-01"),
)
plain = st.recursive(
    st.one_of(texts, st.integers(-1000, 10**39), st.floats(), st.booleans(), st.binary()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
maps = st.one_of(
    st.dictionaries(st.text(max_size=5), plain, max_size=4),
    st.just({1: "a"}),
    st.just(
        {
            "deep": {
                "a": {"b": {"c": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}
            }
        }
    ),
    st.just({"s": {"x"}}),
    st.just({"n": None}),
)
unset = st.none()


def order_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "customer_id": st.one_of(texts, st.just(7)),
            "order_id": st.one_of(texts, unset),
        },
        optional={
            "status": st.one_of(texts, unset),
            "region": st.one_of(texts, unset),
            "total": st.one_of(numbers, unset),
            "count": st.one_of(st.integers(-5, 10**6), numbers, unset),
            "gift": st.one_of(st.booleans(), st.just(1), unset),
            "placed_at": st.one_of(times, unset),
            "tags": st.one_of(
                st.sets(texts, max_size=3), st.just(frozenset({"a"})), st.just({1, 2}), unset
            ),
            "address": st.one_of(maps, unset),
            "lines": st.one_of(st.lists(plain, max_size=3), st.just("x"), unset),
            "label": st.one_of(texts, unset),
            "data": st.one_of(texts, unset),
        },
    )


def _outcome(make: Any) -> tuple[str, Any]:
    try:
        item = make().to_item()
    except Exception as exc:  # the very error is what is compared
        return "error", (type(exc), str(exc))
    return "item", list(item.items())


def _general(cls: type[Entity], make: Any) -> tuple[str, Any]:
    """What ``to_item()`` gives with the class's compiled encoder turned off."""
    compiled = item_encoder(cls)
    type.__setattr__(cls, "_dynaorm_item_encoder", None)
    try:
        return _outcome(make)
    finally:
        type.__setattr__(cls, "_dynaorm_item_encoder", compiled)


def _check(cls: type[Entity], values: dict[str, Any]) -> None:
    def make() -> Entity:
        return cls(**values)

    try:
        instance = make()
    except Exception:
        return  # refused when built: to_item is never reached
    assert _outcome(make) == _general(cls, make)
    encoder = item_encoder(cls)
    assert encoder is not None
    done = encoder(instance)
    if done is not None:
        item, size = done
        validate_item(cls, item)
        assert size == item_size(item)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_values())
def test_an_order_encodes_as_the_general_path_does(values: dict[str, Any]) -> None:
    _check(Order, values)


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(texts, unset),
            "score": st.one_of(numbers, unset),
            "flag": st.one_of(st.booleans(), unset),
            "when": st.one_of(times, unset),
            "doc": st.one_of(maps, unset),
        },
    )
)
def test_required_attributes_fail_as_the_general_path_fails(values: dict[str, Any]) -> None:
    _check(Required, values)


def test_the_common_order_is_encoded_by_the_compiled_encoder() -> None:
    order = Order(
        customer_id="c1",
        order_id="o1",
        status="paid",
        region="eu",
        total=12.5,
        count=3,
        gift=False,
        placed_at=datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
        tags={"a", "b"},
        address={"city": "Lisbon", "n": [1, 2.5, True, b"\x00"]},
        lines=[{"sku": "s1"}],
        label="x",
        data="d1",
    )
    encoder = item_encoder(Order)
    assert encoder is not None
    done = encoder(order)
    assert done is not None
    item, size = done
    assert list(item.items()) == _general(Order, lambda: order)[1]
    assert item["GSI1PK"] == {"S": "STATUS#PAID"}
    assert item["GSI2PK"] == {"S": "eu-R"}
    assert item["GSI3PK"] == {"S": "C00003"}
    assert item["GSI3SK"] == {"S": "2026-05-01T12:30:00"}
    assert size == item_size(item)


def test_a_value_it_is_unsure_of_is_left_to_the_general_path() -> None:
    encoder = item_encoder(Order)
    assert encoder is not None
    for values in (
        {"total": math.nan},
        {"label": "\ud800"},
        {"status": "a#b", "data": "d"},
        {"address": {"a": {"x"}}},
        {"count": 10**6, "placed_at": datetime(2026, 1, 1)},  # wider than its padding
    ):
        order = Order(customer_id="c1", order_id="o1", tags={"t"}, **values)
        assert encoder(order) is None


class Stamped(Entity, table=table):
    name = UnicodeAttribute()
    blob = BinaryAttribute(null=True, legacy_encoding=False)
    version = VersionAttribute()
    created = CreatedAtAttribute()
    primary = Key(pk="S#{name}", sk="S")


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {"name": texts},
        optional={
            "blob": st.one_of(st.binary(max_size=4), st.just("x"), unset),
            "version": st.one_of(st.integers(-5, 10**40), st.just(1.5), st.just(True), unset),
            "created": st.one_of(times, unset),
        },
    )
)
def test_versions_binary_and_stamps_encode_as_the_general_path_does(
    values: dict[str, Any],
) -> None:
    assert item_encoder(Stamped) is not None
    _check(Stamped, values)


def test_classes_the_encoder_cannot_write_out_get_none() -> None:
    class Legacy(Entity, table=table):
        name = UnicodeAttribute()
        blob = BinaryAttribute(null=True, legacy_encoding=True)
        primary = Key(pk="L#{name}", sk="L")

    class Binary(Entity, table=table):
        name = UnicodeAttribute()
        blob = BinaryAttribute(null=True, legacy_encoding=True)
        primary = Key(pk="B#{name}", sk="B")

    class Dynamic(Entity, table=table):
        name = UnicodeAttribute()
        stock = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
        primary = Key(pk="D#{name}", sk="D")

    for cls in (Legacy, Binary, Dynamic):
        assert item_encoder(cls) is None
    # They still encode, by the general path.
    assert Binary(name="n", blob=b"\x01").to_item()["blob"] == {"B": b"AQ=="}


@pytest.mark.parametrize("name", ["Order", "Required"])
def test_the_source_is_kept_for_inspection(name: str) -> None:
    encoder = item_encoder({"Order": Order, "Required": Required}[name])
    assert encoder is not None
    assert "def encode(instance):" in encoder.source  # type: ignore[attr-defined]
