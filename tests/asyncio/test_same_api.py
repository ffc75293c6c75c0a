"""The async API gives what the sync one gives: one scenario run through both (CRUD, versions
and conflicts, updates with index keys in step, queries with filters, limits and cursors),
the same errors before any request, faults retried, and cancellation that stops at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from harness import Async, Sync, run
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from support import bodies_sent, requests_sent

from dynaorm import (
    ConditionFailed,
    DynaormError,
    Entity,
    Index,
    Key,
    RetryPolicy,
    Table,
    Throttled,
    ValidationError,
    VersionAttribute,
    VersionConflict,
)

Factory = Callable[[Table], Table]

JAN = datetime(2024, 1, 1, tzinfo=UTC)

shop = Table("test-async-shop", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    placed_at = UTCDateTimeAttribute()
    total = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}")


class Note(Entity, table=shop):
    """Unversioned."""

    note_id = UnicodeAttribute()
    text = UnicodeAttribute()
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


@pytest.fixture(params=[Sync(), Async()], ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> Sync:
    found: Sync = request.param
    return found


@pytest.fixture
def tables(table_factory: Factory) -> Table:
    return table_factory(shop)


def order(n: int, status: str = "NEW", total: int = 0) -> Order:
    return Order(
        customer_id="c1",
        order_id=f"o{n:02d}",
        status=status,
        placed_at=JAN.replace(day=n),
        total=total,
    )


def test_crud_and_versions(api: Sync, tables: Table) -> None:
    first = order(1)
    api.save(first)
    assert first.version == 1
    stored = api.get(Order, customer_id="c1", order_id="o01")
    assert stored == first
    assert stored.version == 1
    stored.total = 7
    api.save(stored)
    assert stored.version == 2
    with pytest.raises(VersionConflict) as conflict:
        api.save(first)  # still holds version 1
    assert conflict.value.expected == 1
    assert conflict.value.item.version == 2
    assert first.version == 1  # untouched by the failed write
    api.refresh(first)
    assert first.version == 2
    assert first.total == 7
    with pytest.raises(ConditionFailed):
        api.save(first, condition=Order.total > 100)
    api.delete(first)
    assert api.get(Order, customer_id="c1", order_id="o01") is None
    assert api.get(Note, note_id="missing") is None


def test_updates_keep_index_keys_in_step(api: Sync, tables: Table) -> None:
    placed = order(2)
    api.save(placed)
    assert api.update(placed, Order.status.set("PAID"), Order.total.add(5)) is placed
    assert placed.status == "PAID"
    assert placed.total == 5
    assert placed.version == 2
    paid = Order.by_status.query(status="PAID")
    assert api.all(paid) == [placed]
    assert api.all(Order.by_status.query(status="NEW")) == []
    old = api.update(placed, Order.total.add(1), return_values="ALL_OLD")
    assert old.total == 5
    assert placed.total == 6
    assert placed.version == 3
    stale = Order.get(customer_id="c1", order_id="o02")
    assert stale is not None
    api.update(placed, Order.total.add(1))
    with pytest.raises(VersionConflict):
        api.update(stale, Order.total.add(1))
    by_key = api.update_by_key(Note, Note.key(note_id="n1"), Note.text.set("hi"))
    assert by_key == Note(note_id="n1", text="hi")
    changed = api.update_by_key(
        Note, Note.key(note_id="n1"), Note.text.set("ho"), return_values="UPDATED_NEW"
    )
    assert changed == {"text": "ho"}
    with pytest.raises(ConditionFailed):
        api.update_by_key(
            Note, Note.key(note_id="n1"), Note.text.set("x"), condition=Note.text == "nope"
        )


def test_queries_filters_limits_cursors(api: Sync, tables: Table) -> None:
    for n in range(1, 13):
        Order(**{**order(n).attribute_values, "total": n}).save()
    query = Order.query(customer_id="c1")
    assert [o.order_id for o in api.all(query)] == [f"o{n:02d}" for n in range(1, 13)]
    assert api.count(query) == 12
    assert api.count(query.where(Order.total > 8)) == 4
    assert api.count(query.limit(5)) == 5
    big = query.where(Order.total >= 5)
    assert [o.total for o in api.all(big.limit(3))] == [5, 6, 7]
    assert api.first(query.reverse()).order_id == "o12"
    assert api.first(query.where(Order.total > 99)) is None
    first = api.page(query.limit(5))
    assert [o.total for o in first] == [1, 2, 3, 4, 5]
    assert first.cursor is not None
    rest = api.page(query.limit(5), first.cursor)
    assert [o.total for o in rest] == [6, 7, 8, 9, 10]
    tail = api.page(query.limit(5).after(rest.cursor))
    assert [o.total for o in tail] == [11, 12]
    assert tail.cursor is None
    # The sync page and the async page of the same read are the same page.
    assert Sync().page(big.limit(4)).items == api.page(big.limit(4)).items
    small = api.page(query.page_size(4))
    assert len(small) == 4
    assert small.cursor is not None


def test_bad_values_raise_before_any_request(api: Sync, tables: Table) -> None:
    bad = Order(customer_id="c1", order_id="o1", status="NEW", placed_at=JAN, total=float("nan"))
    with requests_sent(shop) as sent:
        with pytest.raises(ValidationError):
            api.save(bad)
        with pytest.raises(ValidationError):
            api.update(order(3), Order.customer_id.set("other"))
        with pytest.raises(ValidationError):
            api.get(Order, customer_id="c1")
    assert sent == []


def test_async_requests_go_through_the_hooks(tables: Table) -> None:
    with requests_sent(shop) as sent:
        run(order(4).asave())
        run(Order.aget(customer_id="c1", order_id="o04"))
        run(Order.query(customer_id="c1").aall())
    assert sent == ["PutItem", "GetItem", "Query"]


def test_faults_are_retried_by_the_async_transport(
    tables: Table, fault_injector: Callable[..., Any]
) -> None:
    shop.retry_policy = RetryPolicy(max_attempts=30, base_delay=0.001, cap=0.01)
    try:
        for n in range(1, 6):
            order(n).save()
        faults = fault_injector(shop, seed=3, throttle=0.3, server_error=0.2, limit=20)
        for n in range(1, 6):
            assert run(Order.aget(customer_id="c1", order_id=f"o{n:02d}")) is not None
        assert len(run(Order.query(customer_id="c1").page_size(2).aall())) == 5
        assert faults.stats.faults > 0
    finally:
        shop.retry_policy = None


def test_give_up_raises_the_translated_error(
    tables: Table, fault_injector: Callable[..., Any]
) -> None:
    shop.retry_policy = RetryPolicy(max_attempts=2, base_delay=0.001, cap=0.01)
    try:
        fault_injector(shop, seed=1, throttle=1.0)
        with pytest.raises(Throttled) as sync_error:
            Order.get(customer_id="c1", order_id="o01")
        with pytest.raises(Throttled) as async_error:
            run(Order.aget(customer_id="c1", order_id="o01"))
        assert type(async_error.value) is type(sync_error.value)
    finally:
        shop.retry_policy = None


def test_cancellation_stops_at_once(tables: Table, fault_injector: Callable[..., Any]) -> None:
    # Every attempt throttled, long backoff: the call would sleep for seconds.
    shop.retry_policy = RetryPolicy(max_attempts=50, base_delay=5.0, cap=5.0, jitter=False)
    try:
        fault_injector(shop, seed=1, throttle=1.0)

        async def with_timeout() -> None:
            async with asyncio.timeout(0.2):
                await Order.aget(customer_id="c1", order_id="o01")

        started = time.monotonic()
        with pytest.raises(TimeoutError):
            asyncio.run(with_timeout())
        assert time.monotonic() - started < 2.0

        async def cancelled() -> None:
            task = asyncio.create_task(Order.query(customer_id="c1").aall())
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        started = time.monotonic()
        asyncio.run(cancelled())
        assert time.monotonic() - started < 2.0
    finally:
        shop.retry_policy = None


def test_the_same_requests_go_on_the_wire(tables: Table) -> None:
    def scenario(api: Sync, n: int) -> None:
        placed = order(n)
        api.save(placed)
        api.get(Order, customer_id="c1", order_id=f"o{n:02d}")
        api.update(placed, Order.status.set("PAID"))
        api.page(Order.query(customer_id="c1").where(Order.total >= 0).limit(1))
        api.count(Order.by_status.query(status="PAID"))
        api.delete(placed)

    with bodies_sent(shop) as sync_sent:
        scenario(Sync(), 5)
    with bodies_sent(shop) as async_sent:
        scenario(Async(), 5)  # the same item again (the sync run deleted it)
    assert len(sync_sent) >= 6
    assert async_sent == sync_sent


def test_connection_failures_map_to_the_same_errors(tables: Table) -> None:
    policy = RetryPolicy(max_attempts=2, base_delay=0.001, cap=0.01)
    shop.retry_policy = policy
    try:
        with shop.override(endpoint_url="http://127.0.0.1:9"):  # nothing listens there
            with pytest.raises(DynaormError) as sync_error:
                Order.get(customer_id="c1", order_id="o01")
            with pytest.raises(DynaormError) as async_error:
                run(Order.aget(customer_id="c1", order_id="o01"))
        assert type(async_error.value) is type(sync_error.value)
        assert type(async_error.value.__cause__) is type(sync_error.value.__cause__)
    finally:
        shop.retry_policy = None


def test_scans(api: Sync, tables: Table) -> None:
    for n in range(1, 6):
        order(n, total=n).save()
    scan = Order.scan().where(Order.total > 2)
    if isinstance(api, Async):

        async def listed() -> list[Any]:
            return [item async for item in scan]

        found = run(listed())
        count = run(scan.acount())
        page = run(Order.scan().page_size(2).apage())
    else:
        found, count, page = scan.all(), scan.count(), Order.scan().page_size(2).page()
    assert sorted(o.total for o in found) == [3, 4, 5]
    assert count == 3
    assert len(page) == 2
