"""A ``FaultInjector(latency=...)`` delays a call the same way through both APIs (the same
seeded delays, the same stats), and an async call awaits its delay: other tasks run while it
waits, and no thread is started. Against the real embedded server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from harness import APIS, Sync
from pynamodb.attributes import UnicodeAttribute

from dynaorm import EndpointUnavailable, Entity, Key, RetryPolicy, Table
from dynaorm.faults import FaultInjector

Factory = Callable[[Table], Table]
slow = Table("test-async-latency")


class Note(Entity, table=slow):
    note_id = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


@pytest.fixture
def notes(table_factory: Factory) -> Table:
    table = table_factory(slow)
    for n in range(3):
        Note(note_id=f"n{n}", text=f"t{n}").save()
    return table


@pytest.fixture(params=APIS, ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> Sync:
    found: Sync = request.param
    return found


def test_the_same_calls_are_delayed_by_the_same_seeded_times(api: Sync, notes: Table) -> None:
    faults = FaultInjector(latency=1.0, max_delay=0.05, seed=7)
    with faults.install(notes):
        got = [api.get(Note, note_id=f"n{n}") for n in range(3)]
        api.save(Note(note_id="n9", text="new"))
    assert [n.text for n in got] == ["t0", "t1", "t2"]
    assert faults.stats.delayed == faults.stats.calls == 4
    # The delays are the plan's (seeded), whichever API made the calls.
    again = FaultInjector(latency=1.0, max_delay=0.05, seed=7)
    with again.install(notes):
        for n in range(3):
            Note.get(note_id=f"n{n}")
        Note(note_id="n9", text="new").save()
    assert again.stats.delay == pytest.approx(faults.stats.delay)


def test_an_async_delay_lets_other_tasks_run(notes: Table) -> None:
    faults = FaultInjector(latency=1.0, max_delay=2.0, seed=3)  # a 0.3 s delay
    threads_during: list[str] = []

    async def scenario() -> tuple[int, Note | None]:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                await asyncio.sleep(0.005)
                ticks += 1
                threads_during.extend(
                    t.name for t in threading.enumerate() if t.name.startswith("dynaorm")
                )

        task = asyncio.create_task(ticker())
        try:
            with faults.install(notes):
                found = await Note.aget(note_id="n1")
        finally:
            done = True
            await task
        return ticks, found

    started = time.monotonic()
    ticks, found = asyncio.run(scenario())
    elapsed = time.monotonic() - started
    assert found is not None
    assert found.text == "t1"
    assert faults.stats.delayed == 1
    assert elapsed >= faults.stats.delay  # the call did wait its delay ...
    # ... while the loop ran the ticker (a blocking sleep would have frozen it): loosely,
    # a quarter of the ticks the delay leaves room for.
    assert faults.stats.delay > 0.1
    assert ticks >= faults.stats.delay / 0.005 / 4
    assert threads_during == []


def test_a_delayed_refusal_is_delayed_then_raised(notes: Table) -> None:
    faults = FaultInjector(latency=1.0, max_delay=0.05, connection_error=1.0, seed=1)
    slow.retry_policy = RetryPolicy(max_attempts=2, base_delay=0.001, cap=0.01)
    try:
        with faults.install(notes), pytest.raises(EndpointUnavailable):
            asyncio.run(Note.aget(note_id="n1"))
    finally:
        slow.retry_policy = None
    assert faults.stats.connection_errors == faults.stats.delayed == 2
