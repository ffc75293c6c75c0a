"""Async batches behave as the sync ones: one harness runs each scenario through
``batch_write``/``batch_get`` and ``abatch_write``/``abatch_get`` (injected faults, the policy
running out, errors retrying cannot fix, the block or a callback raising, errors before any
request), with the same accounting, checked against the table; then what only the async API
has: cancellation (``task.cancel()``, ``asyncio.timeout``) that stops at once with exact
accounting, and no thread started."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import hooked, requests_sent

from dynaorm import (
    BatchIncomplete,
    BatchProgress,
    BatchWriteResult,
    Entity,
    ItemKey,
    Key,
    RetryPolicy,
    Table,
    TableNotFound,
    ValidationError,
    VersionAttribute,
)
from dynaorm.testing import FaultInjectorFactory

Factory = Callable[[Table], Table]
Write = Any  # a Row to put or an ItemKey to delete
PATIENT = RetryPolicy(max_attempts=40, base_delay=0.001, cap=0.01)
SHORT = RetryPolicy(max_attempts=2, base_delay=0.001, cap=0.002)
MIX = {
    "throttle": 0.05,
    "server_error": 0.05,
    "connection_error": 0.05,
    "read_timeout": 0.05,
    "lost_response": 0.05,
    "unprocessed": 0.3,
}

books = Table("test-async-batches")


class Row(Entity, table=books):
    n = NumberAttribute()
    payload = UnicodeAttribute()
    primary = Key(pk="ROW#{n:06d}", sk="ROW")


class Ledgered(Entity, table=books):
    n = NumberAttribute()
    version = VersionAttribute()
    primary = Key(pk="LEDGER#{n}", sk="LEDGER")


OLD = 100_000  # rows numbered from here exist beforehand and are deleted by the batches


def handed_writes(puts: int, deletes: int = 0) -> list[Write]:
    """``puts`` fresh rows, every fifth write a delete of an existing row (while any left)."""
    writes: list[Write] = []
    deleted = 0
    for n in range(puts):
        writes.append(Row(n=n, payload=f"new-{n}"))
        if n % 5 == 4 and deleted < deletes:
            writes.append(Row.key(n=OLD + deleted))
            deleted += 1
    return writes


def stored(table: Table) -> dict[int, str]:
    """n -> payload of every stored row, by raw consistent Scan requests."""
    rows: dict[int, str] = {}
    request: dict[str, Any] = {"TableName": table.name, "ConsistentRead": True}
    while True:
        response = table.call("Scan", request, idempotent=True)
        for item in response.get("Items", []):
            rows[int(item["n"]["N"])] = item["payload"]["S"]
        if "LastEvaluatedKey" not in response:
            return rows
        request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def reset(table: Table, deletes: int) -> None:
    """Only rows OLD .. OLD + deletes - 1 stored (the state every scenario starts from)."""
    with table.batch_write(workers=4) as batch:
        for n in stored(table):
            batch.delete(Row.key(n=n))
    with table.batch_write(workers=4) as batch:
        for n in range(deletes):
            batch.put(Row(n=OLD + n, payload="old"))


def number(write: Write) -> int:
    if isinstance(write, Row):
        return int(write.n)
    return int(write.key["PK"].removeprefix("ROW#"))


def check_accounting(table: Table, handed: list[Write], result: BatchWriteResult) -> dict[str, Any]:
    """The three classes partition what was handed in and agree with the table. Returns the
    figures (by row number), comparable between two runs."""
    not_applied = {id(w) for w in result.unprocessed}
    unknown = {id(w) for w in result.unknown}
    assert not not_applied & unknown, "a write in two classes"
    assert result.handed_in == len(handed)
    assert result.applied == result.puts + result.deletes
    assert result.applied + len(not_applied) + len(unknown) == len(handed)
    rows = stored(table)
    for write in handed:
        n = number(write)
        there = rows.get(n) == write.payload if isinstance(write, Row) else n not in rows
        if id(write) in not_applied:
            assert not there, f"write of row {n} reported not applied, but it was"
        elif id(write) not in unknown:
            assert there, f"write of row {n} reported applied, but it was not"
    return {
        "applied": result.applied,
        "puts": result.puts,
        "unprocessed": [number(w) for w in result.unprocessed],
        "unknown": [number(w) for w in result.unknown],
    }


def counters(result: BatchWriteResult) -> tuple[Any, ...]:
    return (
        result.requests,
        result.retries,
        result.throttles,
        result.unprocessed_returns,
        result.consumed_capacity,
    )


class SyncBatches:
    """The scenarios' calls, the sync way."""

    name = "sync"

    def write(
        self,
        table: Table,
        writes: list[Write],
        *,
        workers: int = 1,
        policy: RetryPolicy | None = None,
        progress: Callable[[BatchProgress], None] | None = None,
        then: BaseException | None = None,
    ) -> tuple[Any, BaseException | None, list[Write]]:
        """Hand ``writes`` in one block (raising ``then`` at its end); the batch, what the
        block raised, and the writes accepted."""
        handed: list[Write] = []
        batch: Any = None
        try:
            batch = table.batch_write(workers=workers, policy=policy, progress=progress)
            with batch:
                for write in writes:
                    self._hand(batch, write, handed)
                if then is not None:
                    raise then
        except Exception as exc:
            return batch, exc, handed
        return batch, None, handed

    @staticmethod
    def _hand(batch: Any, write: Write, handed: list[Write]) -> None:
        handed.append(write)
        try:
            if isinstance(write, ItemKey):
                batch.delete(write)
            else:
                batch.put(write)
        except BaseException:
            if batch.result.handed_in < len(handed):  # raised before it was accepted
                handed.pop()
            raise

    def get(self, table: Table, keys: list[Any], **options: Any) -> list[Any]:
        return table.batch_get(keys, **options)


class AsyncBatches(SyncBatches):
    """The same calls with ``async with``/``await``, each in a fresh event loop."""

    name = "async"

    def write(
        self,
        table: Table,
        writes: list[Write],
        *,
        workers: int = 1,
        policy: RetryPolicy | None = None,
        progress: Callable[[BatchProgress], None] | None = None,
        then: BaseException | None = None,
    ) -> tuple[Any, BaseException | None, list[Write]]:
        handed: list[Write] = []
        batch: Any = None

        async def block() -> None:
            nonlocal batch
            batch = table.abatch_write(concurrency=workers, policy=policy, progress=progress)
            async with batch:
                for write in writes:
                    self._hand(batch, write, handed)
                    await batch.drain()  # as the sync put, wait for a free slot
                if then is not None:
                    raise then

        try:
            asyncio.run(block())
        except Exception as exc:
            return batch, exc, handed
        return batch, None, handed

    def get(self, table: Table, keys: list[Any], **options: Any) -> list[Any]:
        if "workers" in options:
            options["concurrency"] = options.pop("workers")
        return asyncio.run(table.abatch_get(keys, **options))


APIS = [SyncBatches(), AsyncBatches()]


@pytest.fixture(params=APIS, ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> SyncBatches:
    found: SyncBatches = request.param
    return found


@pytest.fixture
def table(table_factory: Factory) -> Table:
    return table_factory(books)


# -- the same scenario through both APIs, the same accounting ---------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_faults_retried_to_the_same_figures(
    table: Table, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    """Throttling, server faults, lost connections and responses, read timeouts and
    unprocessed items: every write applied, and the same requests, retries and throttles
    (the injector's faults are decided by each request's content)."""
    seen = []
    for api in APIS:
        reset(table, 40)
        writes = handed_writes(200, 40)
        faults = fault_injector(table, seed=3, **MIX)
        batch, error, handed = api.write(table, writes, workers=workers, policy=PATIENT)
        faults.uninstall()
        assert error is None
        figures = check_accounting(table, handed, batch.result)
        assert figures["applied"] == len(writes)
        seen.append((counters(batch.result), faults.stats, figures))
    assert seen[0] == seen[1]
    assert seen[0][1].faults > 0


@pytest.mark.parametrize(
    "fault", ["throttle", "unprocessed", "read_timeout", "lost_response", "server_error"]
)
def test_the_policy_running_out_ends_both_the_same_way(
    table: Table, fault_injector: FaultInjectorFactory, fault: str
) -> None:
    seen = []
    for api in APIS:
        reset(table, 4)
        writes = handed_writes(20, 4)
        faults = fault_injector(table, seed=5, **{fault: 1.0})
        batch, error, handed = api.write(table, writes, policy=SHORT)
        faults.uninstall()
        assert isinstance(error, BatchIncomplete)
        assert error.result == batch.result
        assert (error.unprocessed, error.unknown) == (
            list(batch.result.unprocessed),
            list(batch.result.unknown),
        )
        figures = check_accounting(table, handed, batch.result)
        seen.append((figures, counters(batch.result), type(error.__cause__), str(error)))
    assert seen[0] == seen[1]
    figures = seen[0][0]
    if fault in ("throttle", "unprocessed"):
        assert len(figures["unprocessed"]) == 24
    else:
        assert len(figures["unknown"]) == 24


@pytest.mark.parametrize("workers", [1, 4])
def test_the_policy_running_out_over_many_requests(
    api: SyncBatches, table: Table, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    faults = fault_injector(table, throttle=1.0)
    batch, error, handed = api.write(table, handed_writes(120), workers=workers, policy=SHORT)
    faults.uninstall()
    assert isinstance(error, BatchIncomplete)
    figures = check_accounting(table, handed, batch.result)
    assert figures["applied"] == 0
    assert figures["unprocessed"] == [number(w) for w in handed]  # final, as raised
    assert error.result == batch.result
    assert error.unprocessed == list(batch.result.unprocessed)
    assert f"{len(handed)} write(s) were not applied" in str(error)


def test_an_error_retrying_cannot_fix_is_raised_as_itself(api: SyncBatches, table: Table) -> None:
    writes = handed_writes(30)
    table.delete()
    batch, error, handed = api.write(table, writes)
    assert isinstance(error, TableNotFound)
    assert [number(w) for w in batch.result.unprocessed] == [number(w) for w in handed]
    assert any("batch_write" in note for note in error.__notes__)


@pytest.mark.parametrize("workers", [1, 4])
def test_the_block_raising_propagates_with_the_accounting(
    api: SyncBatches, table: Table, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    reset(table, 30)
    writes = handed_writes(140, 30)
    fault_injector(table, seed=8, **MIX)
    batch, error, handed = api.write(
        table, writes, workers=workers, policy=PATIENT, then=RuntimeError("bad input")
    )
    assert isinstance(error, RuntimeError)
    figures = check_accounting(table, handed, batch.result)
    assert figures["unprocessed"]  # the buffered writes were dropped
    assert any("batch.result.unknown" in note for note in error.__notes__)


class Boom(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 4])
def test_a_raising_progress_callback_stops_the_batch(
    api: SyncBatches, table: Table, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    reset(table, 40)
    writes = handed_writes(400, 40)
    fault_injector(table, seed=13, **MIX)

    def progress(report: BatchProgress) -> None:
        if report.requests >= 6:
            raise Boom("callback")

    with requests_sent(table) as sent:
        batch, error, handed = api.write(
            table, writes, workers=workers, policy=PATIENT, progress=progress
        )
    assert isinstance(error, Boom)
    figures = check_accounting(table, handed, batch.result)
    assert figures["applied"] < len(handed) < len(writes)  # stopped early
    assert len(sent) <= 6 + 2 * workers  # those in flight, not retried
    with pytest.raises(ValidationError, match="finished"):
        batch.put(Row(n=1, payload="late"))


def test_the_later_write_of_a_key_wins(api: SyncBatches, table: Table) -> None:
    writes: list[Write] = [Row(n=n, payload=f"first-{n}") for n in range(40)]
    writes += [Row(n=3, payload="second"), Row(n=30, payload="second")]
    batch, error, _ = api.write(table, writes, workers=4)
    assert error is None
    rows = stored(table)
    assert rows[3] == rows[30] == "second"
    assert batch.result.superseded == 1  # n=30 was still buffered; n=3 was sent before
    assert batch.result.applied == 41


def test_the_same_progress_reports(api: SyncBatches, table: Table) -> None:
    reports: list[BatchProgress] = []
    _, error, _ = api.write(table, handed_writes(60), progress=reports.append)
    assert error is None
    assert [(r.done, r.requests) for r in reports] == [(25, 1), (50, 2), (60, 3)]
    assert reports[-1].total == 60
    assert {r.operation for r in reports} == {"batch_write"}


def test_errors_before_any_request(api: SyncBatches, table: Table) -> None:
    class Stranger(Entity, table=Table("test-async-batches-other")):
        n = NumberAttribute()
        primary = Key(pk="S#{n}", sk="S")

    bad: list[Any] = [
        Ledgered(n=1),  # versioned
        Stranger(n=1),  # another table's
        {"n": 1},  # not an entity
        Row(n=1, payload=None),  # invalid
    ]
    with requests_sent(table) as sent:
        for write in bad:
            _, error, handed = api.write(table, [write])
            assert isinstance(error, ValidationError), write
            assert handed == []
        _, error, _ = api.write(table, [Row(n=1, payload="x")], workers=0)
        assert isinstance(error, ValidationError)
        for keys in ([Stranger.key(n=1)], ["ROW#1"]):
            with pytest.raises(ValidationError):
                api.get(table, keys)
        with pytest.raises(ValidationError):
            api.get(table, [Row.key(n=1)], workers=0)
    assert sent == []


# -- batch gets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 3])
def test_batch_gets_give_the_same_results(
    table: Table, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    with table.batch_write(workers=4) as batch:
        for n in range(0, 500, 2):
            batch.put(Row(n=n, payload=f"p{n}"))
    keys: list[Any] = [Row.key(n=n) for n in range(250)] + [Row.key(n=4), Row(n=6, payload="")]
    seen = []
    for api in APIS:
        faults = fault_injector(table, seed=11, unprocessed=0.4, throttle=0.1, server_error=0.1)
        reports: list[BatchProgress] = []
        found = api.get(table, keys, workers=workers, policy=PATIENT, progress=reports.append)
        partial = api.get(table, keys[:10], select=[Row.n], consistent=True)
        faults.uninstall()
        assert [r is None for r in found] == [n % 2 == 1 for n in range(250)] + [False, False]
        assert found[4] == found[250]
        assert found[4] is not found[250]
        assert [p and p.n for p in partial] == [n if n % 2 == 0 else None for n in range(10)]
        seen.append((found, [p and p.attribute_values for p in partial], faults.stats))
        seen[-1] += (reports[-1],) if workers == 1 else (reports[-1].done,)
    assert seen[0] == seen[1]


def test_batch_gets_run_out_the_same_way(
    table: Table, fault_injector: FaultInjectorFactory
) -> None:
    keys = [Row.key(n=n) for n in range(250)]
    seen = []
    for api in APIS:
        faults = fault_injector(table, unprocessed=1.0)
        with pytest.raises(BatchIncomplete) as err:
            api.get(table, keys, policy=SHORT)
        faults.uninstall()
        seen.append((err.value.unprocessed, str(err.value)))
    assert seen[0] == seen[1]
    assert seen[0][0] == keys


# -- what only the async API has: cancellation, no threads --------------------------------------


@contextmanager
def threads_started() -> Iterator[list[threading.Thread]]:
    """The threads started, while the block runs, from the calling thread."""
    started: list[threading.Thread] = []
    caller = threading.current_thread()
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if threading.current_thread() is caller:
            started.append(thread)
        original(thread)

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        yield started
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]


def test_no_thread_is_started(table: Table, fault_injector: FaultInjectorFactory) -> None:
    fault_injector(table, seed=4, unprocessed=0.3, throttle=0.2, server_error=0.1)

    async def scenario() -> list[Any]:
        async with table.abatch_write(concurrency=4, policy=PATIENT) as batch:
            for n in range(200):
                batch.put(Row(n=n, payload="x"))
        keys = [Row.key(n=n) for n in range(300)]
        return await table.abatch_get(keys, concurrency=4, policy=PATIENT)

    before = set(threading.enumerate())
    with threads_started() as started:
        found = asyncio.run(scenario())
    assert started == []
    assert len([f for f in found if f is not None]) == 200
    assert {t for t in threading.enumerate() if t not in before} <= {
        t for t in threading.enumerate() if t.daemon and "process_request" in t.name
    }


async def black_hole() -> tuple[asyncio.Server, str, list[int]]:
    """A loopback server that reads requests and never answers (no thread: this loop's)."""
    connections: list[int] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while await reader.read(65536):
                pass
        finally:
            writer.close()  # also when the loop ends with the handler still reading

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


def test_cancelled_with_requests_in_flight_they_are_unknown(table: Table) -> None:
    """``asyncio.timeout`` while two requests are out (the server never answers): it stops at
    once; the 50 writes out are of unknown outcome, the 10 never sent are not applied."""
    handed = handed_writes(60)

    async def scenario() -> Any:
        server, url, connections = await black_hole()
        try:
            batch = table.abatch_write(concurrency=2, policy=PATIENT)

            async def block() -> None:
                async with asyncio.timeout(0.3), batch:  # bound to the override here
                    for write in handed:
                        batch.put(write)
                    await batch.flush()

            with table.override(endpoint_url=url), pytest.raises(TimeoutError):
                await block()
            assert len(connections) == 2
            return batch
        finally:
            server.close()

    started = time.monotonic()
    batch = asyncio.run(scenario())
    assert time.monotonic() - started < 2.0
    figures = check_accounting(table, handed, batch.result)
    assert figures["unknown"] == list(range(50))
    assert figures["unprocessed"] == list(range(50, 60))
    assert batch.result.requests == 2


def test_cancelled_during_backoff_the_writes_are_not_applied(
    table: Table, fault_injector: FaultInjectorFactory
) -> None:
    faults = fault_injector(table, throttle=1.0)
    slow = RetryPolicy(max_attempts=50, base_delay=5.0, cap=5.0, jitter=False, deadline=None)
    handed = handed_writes(60)

    async def scenario() -> Any:
        batch = table.abatch_write(concurrency=2, policy=slow)

        async def block() -> None:
            async with batch:
                for write in handed:
                    batch.put(write)
                await batch.flush()

        task = asyncio.create_task(block())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return batch

    started = time.monotonic()
    batch = asyncio.run(scenario())
    assert time.monotonic() - started < 2.0
    faults.uninstall()
    figures = check_accounting(table, handed, batch.result)
    assert figures["unprocessed"] == list(range(60))
    assert batch.result.throttles == batch.result.requests == 2


def test_cancelled_mid_batch_under_faults_exact_accounting(
    table: Table, fault_injector: FaultInjectorFactory
) -> None:
    """The task running the block is cancelled from a progress report while up to four
    requests are out; every write handed in is accounted for, against the table."""
    reset(table, 40)
    handed = handed_writes(400, 40)
    faults = fault_injector(table, seed=21, **MIX)

    async def scenario() -> Any:
        main = asyncio.current_task()
        assert main is not None

        def progress(report: BatchProgress) -> None:
            if report.requests >= 6:
                main.cancel()

        batch = table.abatch_write(concurrency=4, policy=PATIENT, progress=progress)

        async def block() -> None:
            async with batch:
                for write in handed:
                    SyncBatches._hand(batch, write, [])
                    await batch.drain()

        with pytest.raises(asyncio.CancelledError):
            await block()
        return batch

    batch = asyncio.run(scenario())
    faults.uninstall()
    figures = check_accounting(table, handed[: batch.result.handed_in], batch.result)
    assert figures["applied"] < batch.result.handed_in < len(handed)
    assert batch.result.requests <= 6 + 4 + 4  # a few attempts after the cancel at most


def test_a_cancelled_batch_get_stops_at_once(
    table: Table, fault_injector: FaultInjectorFactory
) -> None:
    fault_injector(table, throttle=1.0)
    slow = RetryPolicy(max_attempts=50, base_delay=5.0, cap=5.0, jitter=False)

    async def scenario() -> None:
        keys = [Row.key(n=n) for n in range(300)]
        async with asyncio.timeout(0.3):
            await table.abatch_get(keys, concurrency=3, policy=slow)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(scenario())
    assert time.monotonic() - started < 2.0


def test_concurrency_and_workers_are_one_option(table: Table) -> None:
    assert table.abatch_write(workers=3).concurrency == 3
    assert table.abatch_write().concurrency == 1
    with pytest.raises(ValidationError, match="not both"):
        table.abatch_write(concurrency=2, workers=2)
    with pytest.raises(ValidationError, match="concurrency"):
        table.abatch_write(concurrency=0)
    with pytest.raises(ValidationError, match="not both"):
        asyncio.run(table.abatch_get([], concurrency=2, workers=2))
    assert asyncio.run(table.abatch_get([])) == []


def test_interrupted_while_asleep_before_a_retry_nothing_is_applied(
    api: SyncBatches, table: Table, fault_injector: FaultInjectorFactory
) -> None:
    """Ctrl-C (sync) or a cancellation (async) while the transport sleeps before re-sending a
    throttled request: no attempt was out, so its writes are not applied (not unknown)."""
    faults = fault_injector(table, throttle=1.0)
    slow = RetryPolicy(max_attempts=50, base_delay=5.0, cap=5.0, jitter=False, deadline=None)
    handed = handed_writes(30)
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
    batch: Any = None
    started = time.monotonic()
    if isinstance(api, AsyncBatches):

        async def scenario() -> None:
            nonlocal batch
            batch = table.abatch_write(policy=slow)
            async with asyncio.timeout(0.3), batch:
                for write in handed:
                    batch.put(write)

        with pytest.raises(TimeoutError):
            asyncio.run(scenario())
    else:
        batch = table.batch_write(policy=slow)

        def block() -> None:
            with batch:
                for write in handed:
                    batch.put(write)

        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                block()
        finally:
            timer.cancel()
    assert time.monotonic() - started < 2.0
    faults.uninstall()
    figures = check_accounting(table, handed[: batch.result.handed_in], batch.result)
    assert figures["unknown"] == []
    assert figures["unprocessed"] == list(range(batch.result.handed_in))
    assert batch.result.requests == batch.result.throttles == 1


def test_outside_an_event_loop_it_says_how_to_use_it(table: Table) -> None:
    batch = table.abatch_write()
    with requests_sent(table) as sent:
        for n in range(24):
            batch.put(Row(n=n, payload="x"))
        with pytest.raises(ValidationError, match="async with"):
            batch.put(Row(n=24, payload="x"))
    assert sent == []
    assert len(batch.result.unprocessed) == 25


@pytest.mark.parametrize("concurrency", [1, 3])
def test_at_most_concurrency_requests_in_flight(table: Table, concurrency: int) -> None:
    out: list[int] = [0, 0]  # in flight now, most at once

    def sent(attempt: Any) -> None:
        out[0] += 1
        out[1] = max(out)

    def answered(attempt: Any, response: Any) -> None:
        out[0] -= 1

    async def scenario() -> Any:
        async with table.abatch_write(concurrency=concurrency) as batch:
            for n in range(300):
                batch.put(Row(n=n, payload="x"))
                await batch.drain()
        return batch

    with (
        hooked(table, "before-send", sent, operation="BatchWriteItem"),
        hooked(table, "after-call", answered, operation="BatchWriteItem"),
    ):
        batch = asyncio.run(scenario())
    assert out == [0, concurrency]
    assert batch.result.applied == 300
