"""Scatter-gather over write-sharded keys: every shard read concurrently, merged in sort-key
order, a cursor resuming all of them, no item lost or repeated (against the real server)."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    Entity,
    Index,
    InvalidCursor,
    Key,
    Shard,
    ShardedQuery,
    Table,
    ValidationError,
    shard_of,
    sort_key,
)
from dynaorm.testing import unique_table_name

SHARDS = 5
DAYS = ("2024-05-01", "2024-05-02")
sharded_table = Table("test-sharded", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Order(Entity, table=sharded_table):
    order_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    day = UnicodeAttribute()
    slot = NumberAttribute()
    total = NumberAttribute()
    shard = Shard("customer_id", count=SHARDS)
    primary = Key(pk="ORDER#{order_id}", sk="ORDER")
    by_day = Key(index="GSI1", pk="DAY#{day}#{shard}", sk="{slot:04d}")


class Refund(Entity, table=sharded_table):
    refund_id = UnicodeAttribute()
    day = UnicodeAttribute()
    slot = NumberAttribute()
    shard = Shard("refund_id", count=SHARDS)
    primary = Key(pk="REFUND#{refund_id}", sk="REFUND")
    by_day = Key(index="GSI1", pk="DAY#{day}#{shard}", sk="{slot:04d}")


def _seed() -> list[Entity]:
    rng = random.Random(14)
    out: list[Entity] = []
    for n in range(90):
        # Few distinct slots: equal sort keys within and across shards.
        out.append(
            Order(
                order_id=f"o{n:03d}",
                customer_id=f"c{rng.randrange(40)}",
                day=DAYS[n % 2],
                slot=rng.randrange(30),
                total=rng.randrange(100),
            )
        )
    out += [Refund(refund_id=f"r{n}", day=DAYS[0], slot=n * 3) for n in range(8)]
    return out


SEEDED = _seed()


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-sharded-secret")


@pytest.fixture(scope="module")
def shop(dynamodb_endpoint: str) -> Iterator[Table]:
    table = sharded_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            with table.batch_write() as batch:
                for entity in SEEDED:
                    batch.put(entity)
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


def expected_orders(day: str, minimum: int | None = None) -> list[str]:
    return sorted(
        o.order_id
        for o in SEEDED
        if isinstance(o, Order) and o.day == day and (minimum is None or o.total > minimum)
    )


def slots(items: list[Any]) -> list[int]:
    return [int(i.slot) for i in items]


def test_compile_shows_one_request_per_shard(shop: Table) -> None:
    requests = Order.by_day.scatter(day=DAYS[0]).limit(5).compile()
    assert len(requests) == SHARDS
    partitions = [r["ExpressionAttributeValues"][":v0"]["S"] for r in requests]
    assert partitions == [f"DAY#{DAYS[0]}#{n}" for n in range(SHARDS)]
    assert all(r["IndexName"] == "GSI1" and r["Limit"] == 5 for r in requests)


def test_all_items_come_back_merged_in_sort_order(shop: Table) -> None:
    query = Order.by_day.scatter(day=DAYS[0])
    assert isinstance(query, ShardedQuery)
    items = query.all()
    assert sorted(o.order_id for o in items) == expected_orders(DAYS[0])
    assert slots(items) == sorted(slots(items))
    backwards = query.reverse().all()
    assert slots(backwards) == sorted(slots(items), reverse=True)
    assert sorted(o.order_id for o in backwards) == expected_orders(DAYS[0])
    assert query.count() == len(items)
    assert query.first() == items[0]


def test_filters_projections_and_ranges_apply_to_every_shard(shop: Table) -> None:
    query = Order.by_day.scatter(day=DAYS[1]).where(Order.total > 50)
    assert sorted(o.order_id for o in query) == expected_orders(DAYS[1], 50)
    partial = query.select(Order.total).all()
    assert all(o.is_partial for o in partial)
    ranged = Order.by_day.scatter(day=DAYS[1]).range(Order.slot.between(5, 9)).all()
    assert sorted(o.order_id for o in ranged) == sorted(
        o.order_id for o in SEEDED if isinstance(o, Order) and o.day == DAYS[1] and 5 <= o.slot <= 9
    )


def test_a_collection_scatter_reads_every_type(shop: Table) -> None:
    items = shop.scatter(Order.by_day, day=DAYS[0]).all()
    assert sum(isinstance(i, Refund) for i in items) == 8
    assert len(items) == 8 + len(expected_orders(DAYS[0]))
    assert slots(items) == sorted(slots(items))
    ranged = shop.scatter(Order.by_day, day=DAYS[0], range=sort_key <= "0006").all()
    assert all(int(i.slot) <= 6 for i in ranged)
    assert any(isinstance(i, Refund) for i in ranged)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(1, 17),
    page_size=st.none() | st.integers(1, 9),
    descending=st.booleans(),
    minimum=st.none() | st.integers(0, 90),
    collection=st.booleans(),
)
def test_pages_lose_and_repeat_nothing(
    shop: Table,
    limit: int,
    page_size: int | None,
    descending: bool,
    minimum: int | None,
    collection: bool,
) -> None:
    query: ShardedQuery[Any] = (
        shop.scatter(Order.by_day, day=DAYS[0], types=[Order])
        if collection
        else Order.by_day.scatter(day=DAYS[0])
    )
    if minimum is not None:
        query = query.where(Order.total > minimum)
    query = query.reverse(descending).page_size(page_size)
    whole = query.all()
    seen: list[Any] = []
    cursor = None
    for _ in range(200):
        page = query.limit(limit).page(cursor)
        assert len(page.items) <= limit
        seen += page.items
        cursor = page.cursor
        if cursor is None:
            break
    ids = [o.order_id for o in seen]
    assert ids == [o.order_id for o in whole]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == expected_orders(DAYS[0], minimum)
    assert slots(seen) == sorted(slots(seen), reverse=descending)


def test_a_page_without_a_limit_sends_one_request_per_shard(shop: Table) -> None:
    query = Order.by_day.scatter(day=DAYS[0]).page_size(3)
    seen: list[str] = []
    page = query.page()
    assert 0 < len(page.items) <= 3 * SHARDS
    seen += [o.order_id for o in page]
    while page.cursor is not None:
        page = query.after(page.cursor).page()
        seen += [o.order_id for o in page]
    assert sorted(seen) == expected_orders(DAYS[0])
    assert len(seen) == len(set(seen))


def test_a_tampered_or_foreign_cursor_is_refused(shop: Table) -> None:
    query = Order.by_day.scatter(day=DAYS[0]).limit(4)
    cursor = query.page().cursor
    assert cursor is not None
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-20] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        query.after(forged).page()
    with pytest.raises(InvalidCursor, match="another query"):
        Order.by_day.scatter(day=DAYS[1]).limit(4).after(cursor).page()
    with pytest.raises(InvalidCursor, match="another query"):
        query.reverse().after(cursor).page()
    with pytest.raises(InvalidCursor):
        Order.by_day.query(day=DAYS[0], shard=0).after(cursor).page()


def test_one_shard_can_be_queried_and_misuse_is_refused(shop: Table) -> None:
    one = Order.by_day.query(day=DAYS[0], shard=2).all()
    assert all(o.shard == 2 for o in one)
    assert sorted(o.order_id for o in one) == sorted(
        o.order_id
        for o in SEEDED
        if isinstance(o, Order) and o.day == DAYS[0] and shard_of(o.customer_id, SHARDS) == 2
    )
    with pytest.raises(ValidationError, match="reads every shard"):
        Order.by_day.scatter(day=DAYS[0], shard=1)
    with pytest.raises(ValidationError, match="no shard field"):
        Order.primary.scatter(order_id="o1")
    with pytest.raises(ValidationError):
        Order.by_day.scatter(day=DAYS[0]).concurrency(0)


def test_an_update_of_the_source_moves_the_item_to_its_new_shard(shop: Table) -> None:
    order = Order(order_id="moving", customer_id="c1", day="2024-06-01", slot=1, total=1)
    order.save()
    assert [o.order_id for o in Order.by_day.query(day="2024-06-01", shard=order.shard)] == [
        "moving"
    ]
    target = next(f"c{n}" for n in range(100) if shard_of(f"c{n}", SHARDS) != order.shard)
    order.update(Order.customer_id.set(target))
    new_shard = shard_of(target, SHARDS)
    assert [o.order_id for o in Order.by_day.query(day="2024-06-01", shard=new_shard)] == ["moving"]
    assert [o.order_id for o in Order.by_day.scatter(day="2024-06-01")] == ["moving"]
    Order.update_by_key(
        Order.key(order_id="moving"),
        Order.customer_id.set("c1"),
        Order.day.set("2024-06-01"),
        Order.slot.set(1),
    )
    assert Order.get(order_id="moving").shard == shard_of("c1", SHARDS)
    order.delete()


primary_table = Table("test-sharded-primary")


class Event(Entity, table=primary_table):
    event_id = UnicodeAttribute()
    day = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    shard = Shard("event_id", count=3)
    primary = Key(pk="EVENTS#{day}#{shard}", sk="{event_id}")


def test_a_sharded_primary_key_reads_writes_and_scatters(
    table_factory: Callable[[Table], Table],
) -> None:
    table_factory(primary_table)
    for n in range(7):
        Event(event_id=f"e{n}", day="d").save()
    event = Event.get(day="d", event_id="e3")
    assert event.item_key.key == {"PK": f"EVENTS#d#{shard_of('e3', 3)}", "SK": "e3"}
    event.update(Event.note.set("x"))
    assert Event.get(day="d", event_id="e3").note == "x"
    assert [e.event_id for e in Event.primary.scatter(day="d")] == [f"e{n}" for n in range(7)]
    partial = Event.primary.scatter(day="d").select(Event.note).all()
    assert [e.event_id for e in partial] == [f"e{n}" for n in range(7)]
    event.delete()
    assert len(primary_table.scatter(Event.primary, day="d").all()) == 6


def test_a_query_without_its_shard_points_to_scatter() -> None:
    with pytest.raises(ValidationError, match=r"needs shard= \(0 to 4\).*scatter"):
        Order.by_day.query(day=DAYS[0])


bucket_table = Table("test-buckets", indexes=[Index("GSI2", pk="GSI-Bucket", sk="Data")])


class Ticket(Entity, table=bucket_table):
    """A bucket the application writes itself (a random 0..N), not a computed Shard."""

    ticket_id = UnicodeAttribute()
    bucket = NumberAttribute()
    opened = UnicodeAttribute()
    primary = Key(pk="TICKET{ticket_id}", sk="TICKET")
    by_bucket = Key(index="GSI2", pk="Bucket-{bucket:d}", sk="{opened}")


def test_a_scatter_over_a_bucket_the_application_writes(
    table_factory: Callable[[Table], Table],
) -> None:
    table_factory(bucket_table)
    rng = random.Random(3)
    tickets = [
        Ticket(ticket_id=f"{n}", bucket=rng.randrange(6), opened=f"2024-05-{1 + n % 28:02d}")
        for n in range(40)
    ]
    with bucket_table.batch_write() as batch:
        for ticket in tickets:
            batch.put(ticket)
    scatter = Ticket.by_bucket.scatter(bucket=range(6))
    requests = scatter.compile()
    assert [r["ExpressionAttributeValues"][":v0"]["S"] for r in requests] == [
        f"Bucket-{n}" for n in range(6)
    ]
    assert [t.opened for t in scatter] == sorted(t.opened for t in tickets)
    window = scatter.range(Ticket.opened.between("2024-05-03", "2024-05-09"))
    want = sorted(t.ticket_id for t in tickets if "2024-05-03" <= t.opened <= "2024-05-09")
    assert sorted(t.ticket_id for t in window) == want
    first = scatter.limit(15).page()
    rest = scatter.limit(100).after(first.cursor).page()
    assert sorted(t.ticket_id for t in (*first, *rest)) == sorted(t.ticket_id for t in tickets)
    some = Ticket.by_bucket.scatter(bucket=[0, 2])  # only the listed buckets
    assert sorted(t.ticket_id for t in some) == sorted(
        t.ticket_id for t in tickets if t.bucket in (0, 2)
    )
    whole = bucket_table.scatter(Ticket.by_bucket, bucket=(1, 3))
    assert len(whole.compile()) == 2
    assert all(isinstance(t, Ticket) and t.bucket in (1, 3) for t in whole)


def test_a_bucket_scatter_refuses_misuse() -> None:
    with pytest.raises(ValidationError, match="has no shard field"):
        Ticket.by_bucket.scatter()
    with pytest.raises(ValidationError, match="not a set or generator"):
        Ticket.by_bucket.scatter(bucket={1, 2})
    with pytest.raises(ValidationError, match="expected"):
        Ticket.by_bucket.scatter(bucket=["1", "2"])  # text for a number attribute
    with pytest.raises(ValidationError, match="lists a value twice"):
        Ticket.by_bucket.scatter(bucket=[1, 1])
    with pytest.raises(ValidationError, match="1 to 1000 values"):
        Ticket.by_bucket.scatter(bucket=[])
    with pytest.raises(ValidationError, match="must be one value"):
        Order.by_day.scatter(day=list(DAYS))
