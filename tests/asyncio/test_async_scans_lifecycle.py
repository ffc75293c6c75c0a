"""Parallel scans and the table lifecycle give through the async API what they give through
the sync one: one scenario run through both (segments, limits, counts, checkpoints; create,
ensure, describe, exists), cancellation that stops at once, and no thread started."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import bodies_sent, requests_sent, write_all

from dynaorm import (
    Entity,
    Index,
    Key,
    Page,
    RetryPolicy,
    Scan,
    ScanCheckpoint,
    ScanPage,
    SchemaMismatch,
    Table,
    TableNotFound,
    ValidationError,
)
from dynaorm.testing import renamed, unique_table_name

Factory = Callable[[Table], Table]

shop = Table("test-async-scans")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    total = NumberAttribute(default=0)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


class Sync:
    name = "sync"

    def all(self, scan: Scan[Any]) -> list[Any]:
        return scan.all()

    def count(self, scan: Scan[Any]) -> int:
        return scan.count()

    def pages(self, scan: Scan[Any], stop_after: int | None = None) -> list[ScanPage[Any]]:
        taken: list[ScanPage[Any]] = []
        for page in scan.pages():
            taken.append(page)
            if len(taken) == stop_after:
                break
        return taken

    def page(self, scan: Scan[Any]) -> Page[Any]:
        return scan.page()

    def create(self, table: Table, **kw: Any) -> None:
        table.create(**kw)

    def ensure(self, table: Table, **kw: Any) -> bool:
        return table.ensure(**kw)

    def describe(self, table: Table) -> dict[str, Any]:
        return table.describe()

    def exists(self, table: Table) -> bool:
        return table.exists()


class Async(Sync):
    name = "async"

    def all(self, scan: Scan[Any]) -> list[Any]:
        async def listed() -> list[Any]:
            return [item async for item in scan]

        found: list[Any] = run(listed())
        return found

    def count(self, scan: Scan[Any]) -> int:
        return run(scan.acount())  # type: ignore[no-any-return]

    def pages(self, scan: Scan[Any], stop_after: int | None = None) -> list[ScanPage[Any]]:
        async def taken() -> list[ScanPage[Any]]:
            found: list[ScanPage[Any]] = []
            pages = scan.apages()
            async for page in pages:
                found.append(page)
                if len(found) == stop_after:
                    break
            await pages.aclose()  # type: ignore[attr-defined]
            return found

        return run(taken())  # type: ignore[no-any-return]

    def page(self, scan: Scan[Any]) -> Page[Any]:
        return run(scan.apage())  # type: ignore[no-any-return]

    def create(self, table: Table, **kw: Any) -> None:
        run(table.acreate(**kw))

    def ensure(self, table: Table, **kw: Any) -> bool:
        return run(table.aensure(**kw))  # type: ignore[no-any-return]

    def describe(self, table: Table) -> dict[str, Any]:
        return run(table.adescribe())  # type: ignore[no-any-return]

    def exists(self, table: Table) -> bool:
        return run(table.aexists())  # type: ignore[no-any-return]


@pytest.fixture(params=[Sync(), Async()], ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> Sync:
    found: Sync = request.param
    return found


@pytest.fixture
def orders(table_factory: Factory) -> list[Order]:
    table_factory(shop)
    made = [Order(customer_id=f"c{n % 7}", order_id=f"o{n:03d}", total=n) for n in range(60)]
    write_all(shop, made)
    return made


@pytest.fixture
def no_thread_from_here() -> Iterator[list[threading.Thread]]:
    """Threads started from the test's own thread, where the async calls' loop runs."""
    started: list[threading.Thread] = []
    here = threading.current_thread()
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if threading.current_thread() is here:
            started.append(thread)
        original(thread)

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        yield started
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]


def totals(items: list[Any]) -> list[int]:
    return sorted(int(o.total) for o in items)


# -- parallel scans ---------------------------------------------------------------------------


def test_parallel_scans(api: Sync, orders: list[Order]) -> None:
    scan = Order.scan().page_size(5).segments(4)
    assert totals(api.all(scan)) == list(range(60))
    assert api.count(scan) == 60
    assert api.count(scan.where(Order.total >= 50)) == 10
    assert totals(api.all(scan.where(Order.total >= 50))) == list(range(50, 60))
    assert len(api.all(scan.limit(7))) == 7
    assert api.count(scan.limit(7)) == 7
    assert len(api.all(Order.scan().segments(3, workers=1))) == 60
    # Within a segment, pages come in order; each page says which segment it is from.
    pages = api.pages(scan)
    assert {p.segment for p in pages} == {0, 1, 2, 3}
    assert sum(len(p) for p in pages) == 60
    assert pages[-1].checkpoint.finished
    one = api.pages(Order.scan().page_size(5).segment(1, of=4))
    assert [p.segment for p in one] == [None] * len(one)
    assert [o.total for p in one for o in p] == [
        o.total for p in pages if p.segment == 1 for o in p
    ]


def test_a_checkpoint_resumes_the_parallel_scan(api: Sync, orders: list[Order]) -> None:
    scan = Order.scan().page_size(4).segments(3)
    first = api.pages(scan, stop_after=4)
    seen = [o for p in first for o in p]
    checkpoint = first[-1].checkpoint
    text = checkpoint.dumps()
    rest = api.all(scan.resume(text))
    assert totals(seen + rest) == list(range(60))
    assert api.count(scan.resume(ScanCheckpoint.loads(text, scan))) == len(rest)
    # A sync checkpoint resumes an async scan and the other way round.
    assert totals(seen + Sync().all(scan.resume(text))) == list(range(60))


def test_scan_errors_before_any_request(api: Sync, orders: list[Order]) -> None:
    with requests_sent(shop) as sent:
        with pytest.raises(ValidationError):
            api.all(Order.scan().segments(0))
        with pytest.raises(ValidationError, match="parallel or resumed"):
            api.page(Order.scan().segments(2))
    assert sent == []


def test_leaving_or_cancelling_a_parallel_scan_stops_at_once(
    orders: list[Order], fault_injector: Callable[..., Any]
) -> None:
    async def first_only() -> Any:
        return await Order.scan().page_size(2).segments(4).afirst()

    assert run(first_only()) is not None
    shop.retry_policy = RetryPolicy(max_attempts=50, base_delay=5.0, cap=5.0, jitter=False)
    try:
        fault_injector(shop, seed=1, throttle=1.0)

        async def cancelled() -> None:
            task = asyncio.create_task(Order.scan().segments(4).aall())
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        started = time.monotonic()
        run(cancelled())

        async def timed_count() -> None:
            async with asyncio.timeout(0.2):
                await Order.scan().segments(4).acount()

        with pytest.raises(TimeoutError):
            run(timed_count())
        assert time.monotonic() - started < 3.0
    finally:
        shop.retry_policy = None


def test_parallel_scans_start_no_thread(
    orders: list[Order], no_thread_from_here: list[threading.Thread]
) -> None:
    async def scenario() -> None:
        assert len(await Order.scan().page_size(7).segments(5).aall()) == 60
        assert await Order.scan().segments(5).acount() == 60

    run(scenario())
    assert no_thread_from_here == []
    assert Order.scan().segments(5).count() == 60
    assert no_thread_from_here  # the sync parallel scan uses its threads


# -- the table lifecycle ---------------------------------------------------------------------


def lifecycle_table(dynamodb_endpoint: str, **options: Any) -> Iterator[Table]:
    table = Table(
        "test-async-lifecycle", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")], **options
    )
    with renamed(table, unique_table_name(table.name), dynamodb_endpoint):
        try:
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


@pytest.fixture
def fresh(dynamodb_endpoint: str) -> Iterator[Table]:
    yield from lifecycle_table(dynamodb_endpoint)


@pytest.fixture
def fresh_ttl(dynamodb_endpoint: str) -> Iterator[Table]:
    """A table with a TTL attribute: creating it sends UpdateTimeToLive too (dynalite has no
    TTL, so the tests using it need the ``ttl`` feature)."""
    yield from lifecycle_table(dynamodb_endpoint, ttl_attribute="expires")


def test_lifecycle(api: Sync, fresh: Table) -> None:
    assert api.exists(fresh) is False
    with pytest.raises(TableNotFound):
        api.describe(fresh)
    api.create(fresh)
    assert api.exists(fresh) is True
    described = api.describe(fresh)
    assert described["TableStatus"] == "ACTIVE"
    assert isinstance(described["CreationDateTime"], datetime)
    sync = fresh.describe()
    assert described.keys() == sync.keys()
    assert described == sync
    assert api.ensure(fresh) is False
    fresh.delete()
    assert api.ensure(fresh) is True
    assert api.exists(fresh) is True


def test_ensure_refuses_a_mismatch(api: Sync, fresh: Table, dynamodb_endpoint: str) -> None:
    fresh.create()
    other = Table(fresh.name, pk="id", sk=None)
    other.configure(endpoint_url=dynamodb_endpoint)
    with pytest.raises(SchemaMismatch):
        api.ensure(other)


def test_lifecycle_starts_no_thread(
    fresh: Table, no_thread_from_here: list[threading.Thread]
) -> None:
    async def scenario() -> None:
        assert await fresh.aensure() is True
        assert await fresh.aexists()
        assert (await fresh.adescribe())["TableStatus"] == "ACTIVE"

    run(scenario())
    assert no_thread_from_here == []


def test_await_until_active_waits_like_wait_until_active(
    fresh: Table, no_thread_from_here: list[threading.Thread]
) -> None:
    async def scenario() -> None:
        await fresh.acreate(wait=False)
        await fresh.await_until_active(timeout=60)
        assert (await fresh.adescribe())["TableStatus"] == "ACTIVE"

    run(scenario())
    assert no_thread_from_here == []
    with bodies_sent(fresh) as sync_bodies:
        fresh.wait_until_active(timeout=60)
    with bodies_sent(fresh) as async_bodies:
        run(fresh.await_until_active(timeout=60))
    assert async_bodies == sync_bodies == [("DescribeTable", {"TableName": fresh.name})]


@pytest.mark.requires("ttl")
def test_lifecycle_sets_the_ttl(api: Sync, fresh_ttl: Table) -> None:
    api.create(fresh_ttl)
    ttl = fresh_ttl.call("DescribeTimeToLive", {"TableName": fresh_ttl.name}, idempotent=True)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"
    assert api.ensure(fresh_ttl) is False


def lifecycle_requests(table: Table) -> set[str]:
    """Ensure, then check existence, through both APIs: the same distinct requests each way."""
    sent = []
    for api in (Sync(), Async()):
        with bodies_sent(table) as bodies:
            api.ensure(table)  # DescribeTable (not found), CreateTable, DescribeTable ...
            api.exists(table)
        table.delete()
        # The polls until ACTIVE depend on the server's timing: compare the distinct requests.
        sent.append(sorted({(op, repr(body)) for op, body in bodies}))
    assert sent[0] == sent[1]
    return {op for op, _ in sent[0]}


def test_the_same_lifecycle_requests_go_on_the_wire(fresh: Table) -> None:
    assert lifecycle_requests(fresh) == {"DescribeTable", "CreateTable"}


@pytest.mark.requires("ttl")
def test_the_same_lifecycle_requests_with_a_ttl(fresh_ttl: Table) -> None:
    assert lifecycle_requests(fresh_ttl) == {"DescribeTable", "CreateTable", "UpdateTimeToLive"}
