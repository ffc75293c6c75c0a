"""Shard fields: a stable, documented hash of the source's key text, bound into key templates."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from dynaorm import ConfigurationError, Entity, Index, Key, Shard, Table, ValidationError, shard_of

table = Table("test-shards", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Order(Entity, table=table):
    order_id = UnicodeAttribute()
    day = UnicodeAttribute(null=True)
    shard = Shard("order_id", count=10)
    primary = Key(pk="ORDER#{order_id}", sk="ORDER")
    by_day = Key(index="GSI1", pk="ORDERS#{day}#{shard}", sk="{order_id}")


def test_the_function_is_the_documented_one() -> None:
    # Any client can compute it: SHA-256 of the UTF-8 text, first 8 bytes big-endian, mod N.
    for text in ["o-1001", "", "é", "x" * 500]:
        expected = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 10
        assert shard_of(text, 10) == expected
    assert shard_of("o-1001", 10) == 1  # a fixed value: the function never changes


@given(st.text(), st.integers(1, 1000))
def test_shards_are_in_range_and_stable(text: str, count: int) -> None:
    assert 0 <= shard_of(text, count) < count
    assert shard_of(text, count) == shard_of(text, count)


def test_shards_spread_evenly() -> None:
    counts = [0] * 10
    for n in range(10_000):
        counts[shard_of(f"order-{n}", 10)] += 1
    assert min(counts) > 850
    assert max(counts) < 1150


def test_the_key_carries_the_shard_of_its_source() -> None:
    order = Order(order_id="o-1001", day="2024-05-01")
    assert order.shard == 1
    assert Order.shard == Shard("order_id", count=10)
    assert order.to_item()["GSI1PK"] == {"S": "ORDERS#2024-05-01#1"}
    assert Order.by_day.fields == ("day", "order_id")  # the shard counts as its source
    assert Order(day="2024-05-01").shard is None
    assert "GSI1PK" not in Order(order_id="o1").to_item()  # sparse without day


def test_other_sources_render_as_their_key_text() -> None:
    t = Table("test-shards-typed", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])

    class Event(Entity, table=t):
        seq = NumberAttribute()
        at = UTCDateTimeAttribute()
        shard = Shard("at", count=7)
        primary = Key(pk="EVENT#{seq:08d}", sk="EVENT")
        by_time = Key(index="GSI1", pk="EVENTS#{shard}", sk="{at}")

    at = datetime(2024, 5, 1, tzinfo=UTC)
    event = Event(seq=1, at=at)
    assert event.shard == shard_of("2024-05-01T00:00:00.000000+0000", 7)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Shard("order_id", count=0), "from 1 to 1000"),
        (lambda: Shard("order_id", count=True), "integer"),
        (lambda: Shard("not a name", count=2), "attribute name"),
    ],
)
def test_bad_declarations_are_refused(make: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()  # type: ignore[operator]


def test_a_shard_in_a_sort_key_or_of_an_unknown_source_is_refused() -> None:
    t = Table("test-shards-bad", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])
    with pytest.raises(ConfigurationError, match="partition-key template"):

        class InSort(Entity, table=t):
            a = UnicodeAttribute()
            shard = Shard("a", count=2)
            primary = Key(pk="A#{a}", sk="A")
            by = Key(index="GSI1", pk="X", sk="{shard}#{a}")

    with pytest.raises(ConfigurationError, match="not an attribute"):

        class Unknown(Entity, table=t):
            a = UnicodeAttribute()
            shard = Shard("b", count=2)
            primary = Key(pk="A#{a}", sk="A")
            by = Key(index="GSI1", pk="X#{shard}", sk="{a}")


def test_an_unrenderable_source_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Order(order_id=5, day="d").to_item()  # type: ignore[arg-type]
