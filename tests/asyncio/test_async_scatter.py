"""Scatter-gather queries give through the async API what they give through the sync one:
the same items in the same sort order, the same pages and cursors (a cursor from either
resumes the other), counts and firsts, against independent Python over seeded data; the
shard queries run as concurrent tasks, and no thread is started."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from harness import APIS, Sync, run
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import Entity, Index, Key, Shard, ShardedQuery, Table
from dynaorm.testing import unique_table_name

SHARDS = 4
DAY = "2024-06-01"
scatter_table = Table("test-async-scatter", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Sale(Entity, table=scatter_table):
    sale_id = UnicodeAttribute()
    day = UnicodeAttribute()
    slot = NumberAttribute()
    total = NumberAttribute()
    shard = Shard("sale_id", count=SHARDS)
    primary = Key(pk="SALE#{sale_id}", sk="SALE")
    by_day = Key(index="GSI1", pk="DAY#{day}#{shard}", sk="{slot:04d}")


def _seed() -> list[Sale]:
    rng = random.Random(16)
    # Few distinct slots: equal sort keys within and across shards.
    return [
        Sale(sale_id=f"s{n:03d}", day=DAY, slot=rng.randrange(25), total=rng.randrange(100))
        for n in range(70)
    ]


SEEDED = _seed()


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-async-scatter-secret")


@pytest.fixture(scope="module")
def shop(dynamodb_endpoint: str) -> Iterator[Table]:
    table = scatter_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            with table.batch_write() as batch:
                for sale in SEEDED:
                    batch.put(sale)
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


@pytest.fixture(params=APIS, ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> Sync:
    found: Sync = request.param
    return found


def slots(items: list[Any]) -> list[int]:
    return [int(s.slot) for s in items]


def expected(minimum: int = -1, descending: bool = False) -> list[tuple[int, str]]:
    chosen = [(int(s.slot), s.sale_id) for s in SEEDED if s.total > minimum]
    return sorted(chosen, reverse=descending)


def test_all_first_and_count_match_python(api: Sync, shop: Table) -> None:
    query = Sale.by_day.scatter(day=DAY)
    items = api.all(query)  # type: ignore[arg-type]
    assert sorted((int(s.slot), s.sale_id) for s in items) == expected()
    assert slots(items) == sorted(slots(items))
    assert items == query.all()  # the same order as the sync merge, ties included
    backwards = api.all(query.reverse())  # type: ignore[arg-type]
    assert backwards == query.reverse().all()
    assert slots(backwards) == sorted(slots(items), reverse=True)
    filtered = query.where(Sale.total > 60)
    assert sorted((int(s.slot), s.sale_id) for s in api.all(filtered)) == expected(60)  # type: ignore[arg-type]
    assert api.count(query) == len(SEEDED)  # type: ignore[arg-type]
    assert api.count(filtered.limit(5)) == 5  # type: ignore[arg-type]
    assert api.first(query) == items[0]  # type: ignore[arg-type]
    assert api.first(query.reverse()) == backwards[0]  # type: ignore[arg-type]
    assert api.all(query.limit(9)) == items[:9]  # type: ignore[arg-type]


@pytest.mark.parametrize("resume", APIS, ids=lambda api: f"resumed-{api.name}")
def test_pages_and_cursors_cross_between_sync_and_async(
    api: Sync, resume: Sync, shop: Table
) -> None:
    query = Sale.by_day.scatter(day=DAY).page_size(4).limit(11)
    everything = query.limit(None).all()
    seen: list[Any] = []
    page = api.page(query)  # type: ignore[arg-type]
    sync_first = query.page()
    assert list(page) == list(sync_first)
    assert list(query.page(page.cursor)) == list(query.page(sync_first.cursor))
    seen += list(page)
    turns = [resume, api]
    while page.cursor is not None:
        page = turns[len(seen) % 2].page(query, page.cursor)  # type: ignore[arg-type]
        seen += list(page)
    assert seen == everything  # nothing lost or repeated, in sort order
    # Without a limit a page is one round: a request per shard, merged.
    unlimited = Sale.by_day.scatter(day=DAY).page_size(3)
    assert list(api.page(unlimited)) == list(unlimited.page())  # type: ignore[arg-type]


def test_shard_queries_run_as_concurrent_tasks(shop: Table) -> None:
    expected_items = Sale.by_day.scatter(day=DAY).all()  # the sync run, on its threads
    threads: set[str] = set()
    in_flight = peak = 0
    from dynaorm.read import async_sharded

    real = async_sharded.asend

    async def counting(plan: Any, request: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        threads.update(t.name for t in threading.enumerate() if t.name.startswith("dynaorm"))
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            return await real(plan, request)
        finally:
            in_flight -= 1

    async_sharded.asend = counting  # type: ignore[assignment]
    try:
        query: ShardedQuery[Any] = Sale.by_day.scatter(day=DAY)
        assert run(query.aall()) == expected_items
        assert peak == SHARDS
        peak = 0
        run(query.concurrency(2).aall())
        assert peak == 2
    finally:
        async_sharded.asend = real  # type: ignore[assignment]
    assert threads == set()  # no worker thread while the async run reads


def test_a_failing_shard_cancels_the_others(shop: Table) -> None:
    from dynaorm.read import async_sharded

    real = async_sharded.asend
    cancelled = 0

    async def failing(plan: Any, request: dict[str, Any]) -> dict[str, Any]:
        nonlocal cancelled
        if request["ExpressionAttributeValues"][":v0"]["S"].endswith("#0"):
            raise RuntimeError("shard 0 fails")
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return await real(plan, request)

    async_sharded.asend = failing  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError, match="shard 0 fails"):  # as the sync run raises it
            run(Sale.by_day.scatter(day=DAY).aall())
        assert cancelled == SHARDS - 1
    finally:
        async_sharded.asend = real  # type: ignore[assignment]


def test_a_table_scatter_reads_the_collections_both_ways(api: Sync, shop: Table) -> None:
    query = shop.scatter(Sale.by_day, day=DAY).page_size(10)
    items = api.all(query)  # type: ignore[arg-type]
    assert items == query.all()
    assert sorted((int(s.slot), s.sale_id) for s in items) == expected()
    assert api.count(query) == len(SEEDED)  # type: ignore[arg-type]
    first = api.page(query.limit(30))  # type: ignore[arg-type]
    rest = api.page(query.limit(100), first.cursor)  # type: ignore[arg-type]
    assert [*first, *rest] == items
