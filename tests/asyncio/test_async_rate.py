"""Rate-limited scans run the async way (``async for``, ``aall()``, ``acount()``,
``apages()``, ``apage()``) with the sync limiter's decisions: the same results as the sync
scan and as plain Python over the seeded items, the limiter asked before every request and
debited after it, its waits awaited (the loop keeps running) and the rate respected over the
run, loosely; no thread is started."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import write_all

from dynaorm import Entity, Key, Scan, Table
from dynaorm.wire.rate import ReadRateLimiter

Factory = Callable[[Table], Table]
N = 60
rated = Table("test-async-rate")


class Reading(Entity, table=rated):
    meter = UnicodeAttribute()
    n = NumberAttribute()
    primary = Key(pk="METER#{meter}", sk="N#{n:03d}")


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


class Sync:
    name = "sync"

    def all(self, scan: Scan[Any]) -> list[Any]:
        return scan.all()

    def count(self, scan: Scan[Any]) -> int:
        return scan.count()

    def pages(self, scan: Scan[Any]) -> list[Any]:
        return [list(page.items) for page in scan.pages()]


class Async(Sync):
    name = "async"

    def all(self, scan: Scan[Any]) -> list[Any]:
        async def listed() -> list[Any]:
            return [item async for item in scan]

        found: list[Any] = run(listed())
        assert sorted(numbers(found)) == sorted(numbers(run(scan.aall())))
        return found

    def count(self, scan: Scan[Any]) -> int:
        return run(scan.acount())  # type: ignore[no-any-return]

    def pages(self, scan: Scan[Any]) -> list[Any]:
        async def taken() -> list[Any]:
            return [list(page.items) async for page in scan.apages()]

        return run(taken())  # type: ignore[no-any-return]


@pytest.fixture(params=[Sync(), Async()], ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> Sync:
    found: Sync = request.param
    return found


@pytest.fixture
def readings(table_factory: Factory) -> list[Reading]:
    table_factory(rated)
    made = [Reading(meter=f"m{n % 9}", n=n) for n in range(N)]
    write_all(rated, made)
    return made


def numbers(items: list[Any]) -> list[int]:
    return [int(r.n) for r in items]


class Watched:
    """What every limiter decided: each ``wait()`` answer and each debit, with its time."""

    def __init__(self) -> None:
        self.waits: list[tuple[float, float | None]] = []
        self.debits: list[tuple[float, float]] = []
        self.rates: set[float] = set()
        self.by_limiter: dict[int, Watched] = {}

    def of(self, limiter: ReadRateLimiter) -> Watched:
        return self.by_limiter.setdefault(id(limiter), Watched())

    def clear(self) -> None:
        self.waits.clear()
        self.debits.clear()
        self.by_limiter.clear()


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Watched:
    seen = Watched()
    real_wait, real_consume = ReadRateLimiter.wait, ReadRateLimiter.consume

    def wait(self: ReadRateLimiter) -> float | None:
        answer = real_wait(self)
        for record in (seen, seen.of(self)):
            record.waits.append((time.monotonic(), answer))
        seen.rates.add(self.rate)
        return answer

    def consume(self: ReadRateLimiter, units: float) -> None:
        for record in (seen, seen.of(self)):
            record.debits.append((time.monotonic(), units))
        real_consume(self, units)

    monkeypatch.setattr(ReadRateLimiter, "wait", wait)
    monkeypatch.setattr(ReadRateLimiter, "consume", consume)
    return seen


def _rate_for(scan: Scan[Any]) -> tuple[float, float]:
    """A rate that makes ``scan`` wait (about a second), and its largest request's units."""
    units = [p.consumed_capacity or 0.0 for p in scan.pages()]
    largest = max(units)
    return max(0.5, (sum(units) - 3 * largest) / 1.2), largest


def _respected(seen: Watched, rate: float, largest: float, workers: int) -> None:
    """Over each run (each has its limiter), the units debited by each moment stay within
    what the bucket allows: its one-second burst, what ran ahead (a request per worker) and
    the rate since the start (loosely: 30% slack)."""
    assert seen.by_limiter
    for run_of in seen.by_limiter.values():
        start = run_of.waits[0][0]
        debited = 0.0
        for at, units in run_of.debits:
            debited += units
            assert debited <= rate + workers * largest + 1.3 * rate * (at - start) + 1e-6


@pytest.mark.parametrize("segments", [1, 3], ids=["one-segment", "parallel"])
def test_rate_limited_scans_match_and_respect_the_rate(
    api: Sync, readings: list[Reading], watched: Watched, segments: int
) -> None:
    base = Reading.scan().page_size(6)
    if segments > 1:
        base = base.segments(segments)
    rate, largest = _rate_for(base)
    watched.clear()
    scan = base.rate_limit(rate)
    found = api.all(scan)
    assert sorted(numbers(found)) == list(range(N))  # plain Python: every seeded item once
    # The limiter was asked before each request and debited after each response ...
    assert len(watched.debits) >= N // 6
    assert sum(1 for _, answer in watched.waits if answer is None) == len(watched.debits)
    # ... it made the scan wait, and the rate held over the run.
    assert any(answer for _, answer in watched.waits)
    assert watched.rates == {rate}
    _respected(watched, rate, largest, segments)
    # Counts and pages, the same as the sync scan's (at a faster rate, to keep the test short).
    faster = base.rate_limit(4 * rate)
    assert api.count(faster) == N
    assert sorted(n for page in api.pages(faster) for n in numbers(page)) == list(range(N))


def test_a_one_segment_rate_limited_page_and_first(readings: list[Reading]) -> None:
    scan = Reading.scan().page_size(7).rate_limit(50)
    page = run(scan.apage())
    assert numbers(list(page)) == numbers(list(scan.page()))
    assert run(scan.afirst()) == scan.first()


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


def test_the_waits_are_awaited_and_start_no_thread(
    readings: list[Reading], watched: Watched, no_thread_from_here: list[threading.Thread]
) -> None:
    base = Reading.scan().page_size(5).segments(2)
    rate, _ = _rate_for(base)
    scan = base.rate_limit(rate)
    no_thread_from_here.clear()

    async def scan_and_tick() -> tuple[list[Any], int]:
        ticks = 0
        running = True

        async def ticker() -> None:
            nonlocal ticks
            while running:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            found = await scan.aall()
        finally:
            running = False
            await task
        return found, ticks

    watched.clear()
    found, ticks = run(scan_and_tick())
    assert sorted(numbers(found)) == list(range(N))
    waited = sum(answer for _, answer in watched.waits if answer)
    assert waited > 0.2
    assert ticks >= 5  # the loop ran other tasks while the scan waited
    assert no_thread_from_here == []


def test_aacquire_awaits_the_waits_acquire_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same bucket, a fake clock: the async wait sleeps exactly what the sync one does."""

    def limiter(slept: list[float], now: list[float]) -> ReadRateLimiter:
        def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        made = ReadRateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
        made.consume(10.0)  # 6 units in debt: 1.5 s, then a request may start
        return made

    sync_slept: list[float] = []
    limiter(sync_slept, [0.0]).acquire()
    async_slept: list[float] = []
    now = [0.0]
    bucket = limiter([], now)

    async def fake_sleep(seconds: float) -> None:
        async_slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr("dynaorm.wire.rate.asyncio.sleep", fake_sleep)
    run(bucket.aacquire())
    assert async_slept == sync_slept
    assert sum(async_slept) == pytest.approx(1.5, abs=0.01)
    assert bucket.wait() is None
