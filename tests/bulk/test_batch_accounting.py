"""Exact batch accounting: however a batch write ends, every write handed in is applied, not
applied, or of unknown outcome, and the result says which; checked against the table.

Each test hands in puts of fresh rows and deletes of existing ones, ends the batch one way
(success, the policy running out, the block raising, a progress callback raising, Ctrl-C, a
server that stops answering), then reads the table back with raw consistent ``Scan`` requests:
every write reported applied is stored, every write reported not applied is not, and the
classes add up to what was handed in. Faults come from ``dynaorm.faults`` or from a loopback
proxy the test starts.
"""

from __future__ import annotations

import _thread
import http.client
import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
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
)
from dynaorm.testing import FaultInjectorFactory
from dynaorm.wire.hooks import Attempt

Factory = Callable[[Table], Table]
PATIENT = RetryPolicy(max_attempts=40, base_delay=0.001, cap=0.01)
SHORT = RetryPolicy(max_attempts=2, base_delay=0.001, cap=0.002)

books = Table("test-batch-accounting")


class Row(Entity, table=books):
    n = NumberAttribute()
    payload = UnicodeAttribute()
    primary = Key(pk="ROW#{n:06d}", sk="ROW")


OLD = 100_000  # rows numbered from here exist beforehand and are deleted by the batches


def handed_writes(puts: int, deletes: int) -> list[Row | ItemKey]:
    """``puts`` fresh rows, every fifth write a delete of an existing row (while any left)."""
    writes: list[Row | ItemKey] = []
    deleted = 0
    for n in range(puts):
        writes.append(Row(n=n, payload=f"new-{n}"))
        if n % 5 == 4 and deleted < deletes:
            writes.append(Row.key(n=OLD + deleted))
            deleted += 1
    return writes


def prepare(table: Table, deletes: int) -> None:
    with table.batch_write(workers=4) as setup:
        for n in range(deletes):
            setup.put(Row(n=OLD + n, payload="old"))


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


def _number(write: Row | ItemKey) -> int:
    if isinstance(write, Row):
        return int(write.n)
    return int(write.key["PK"].removeprefix("ROW#"))


def check_accounting(
    table: Table,
    handed: list[Row | ItemKey],
    result: BatchWriteResult,
    *,
    unprocessed: list[Any] | None = None,
    unknown: list[Any] | None = None,
) -> dict[str, int]:
    """Assert the three classes partition what was handed in and agree with the table;
    ``unprocessed``/``unknown`` are a ``BatchIncomplete``'s lists (they must equal the
    result's). Returns the figures."""
    not_applied = list(result.unprocessed)
    maybe = list(result.unknown)
    if unprocessed is not None:
        assert unprocessed == not_applied
    if unknown is not None:
        assert unknown == maybe
    ids = {id(w) for w in handed}
    not_applied_ids = {id(w) for w in not_applied}
    unknown_ids = {id(w) for w in maybe}
    assert len(not_applied_ids) == len(not_applied)
    assert len(unknown_ids) == len(maybe)
    assert not_applied_ids <= ids
    assert unknown_ids <= ids
    assert not not_applied_ids & unknown_ids, "a write in two classes"
    assert result.superseded == 0
    assert result.handed_in == len(handed)
    assert result.applied == result.puts + result.deletes
    assert result.applied + len(not_applied) + len(maybe) == len(handed)
    rows = stored(table)
    unknown_stored = 0
    for write in handed:
        n = _number(write)
        if isinstance(write, Row):
            there = rows.get(n) == write.payload
            assert rows.get(n) in (None, write.payload)
        else:
            there = n not in rows  # a delete "is stored" when the row is gone
            assert rows.get(n) in (None, "old")
        if id(write) in not_applied_ids:
            assert not there, f"write of row {n} reported not applied, but it was"
        elif id(write) in unknown_ids:
            unknown_stored += there
        else:
            assert there, f"write of row {n} reported applied, but it was not"
    figures = {
        "handed_in": len(handed),
        "applied": result.applied,
        "not_applied": len(not_applied),
        "unknown": len(maybe),
        "unknown_applied": unknown_stored,
        "requests": result.requests,
    }
    print(f"\nACCOUNTING {json.dumps(figures)}")
    return figures


def feed(
    batch: Any,
    writes: list[Row | ItemKey],
    handed: list[Row | ItemKey],
    then: BaseException | None = None,
    after: Callable[[], None] = lambda: None,
) -> None:
    """Hand ``writes`` to ``batch`` in a block, recording in ``handed`` each write accepted
    (so a test can check them after the block raised); call ``after`` and raise ``then`` at
    the end of the block's body."""
    with batch:
        for write in writes:
            handed.append(write)
            try:
                if isinstance(write, ItemKey):
                    batch.delete(write)
                else:
                    batch.put(write)
            except BaseException:
                # A write is accepted before put() sends a full request, so a put() that
                # raises (the policy ran out, Ctrl-C) may have accepted its write.
                if batch.result.handed_in < len(handed):
                    handed.pop()
                raise
        after()
        if then is not None:
            raise then


MIX = {
    "throttle": 0.05,
    "server_error": 0.05,
    "connection_error": 0.05,
    "read_timeout": 0.05,
    "lost_response": 0.05,
    "unprocessed": 0.3,
    "latency": 0.3,
    "max_delay": 0.003,
}


# -- success ----------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_success_under_faults_applies_every_write(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    table = table_factory(books)
    prepare(table, 40)
    writes = handed_writes(200, 40)
    faults = fault_injector(table, seed=3, **MIX)
    batch = table.batch_write(workers=workers, policy=PATIENT)
    handed: list[Row | ItemKey] = []
    feed(batch, writes, handed)
    faults.uninstall()
    assert faults.stats.read_timeouts + faults.stats.lost_responses > 0
    assert handed == writes
    figures = check_accounting(table, handed, batch.result)
    assert figures["applied"] == len(writes)
    assert batch.result.unprocessed == batch.result.unknown == ()


# -- the policy runs out ------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_policy_exhausted_accounts_for_the_chunk_waiting_for_a_worker(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    """75 writes handed in while every request is throttled: all 75 are reported not
    applied, including the third chunk that put() held while waiting for a free worker."""
    table = table_factory(books)
    writes = handed_writes(75, 0)

    def slow(attempt: Attempt) -> None:
        time.sleep(0.2)  # ages for 25 puts: the block hands in all 75 before one fails

    # Registered before the injector's hook, so it runs first.
    with hooked(table, "before-send", slow, operation="BatchWriteItem"):
        faults = fault_injector(table, throttle=1.0)
        batch = table.batch_write(workers=workers, policy=SHORT)
        handed: list[Row | ItemKey] = []
        try:
            with pytest.raises(BatchIncomplete) as err:
                feed(batch, writes, handed)
        finally:
            faults.uninstall()
    figures = check_accounting(
        table, handed, batch.result, unprocessed=err.value.unprocessed, unknown=err.value.unknown
    )
    assert figures["not_applied"] == len(handed) == (25 if workers == 1 else 75)
    assert err.value.applied == 0
    assert err.value.result == batch.result


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("fault", ["read_timeout", "lost_response", "server_error"])
def test_policy_exhausted_without_answers_reports_unknown_not_unprocessed(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int, fault: str
) -> None:
    """Every request gets no answer (a read timeout where a coin decides whether the server
    applied it, a lost response after it did, an HTTP 500): those writes are "unknown",
    never "not applied"; only the writes never sent are not applied."""
    table = table_factory(books)
    prepare(table, 20)
    writes = handed_writes(100, 20)
    faults = fault_injector(table, seed=5, **{fault: 1.0})
    batch = table.batch_write(workers=workers, policy=SHORT)
    handed: list[Row | ItemKey] = []
    with pytest.raises(BatchIncomplete) as err:
        feed(batch, writes, handed)
    faults.uninstall()
    figures = check_accounting(
        table, handed, batch.result, unprocessed=err.value.unprocessed, unknown=err.value.unknown
    )
    assert figures["applied"] == 0
    assert figures["unknown"] >= 25  # at least the first request's writes
    assert figures["unknown"] % 25 == 0  # whole requests, sent and unanswered
    if fault == "lost_response":
        assert figures["unknown_applied"] == figures["unknown"]  # all of them were stored
    else:
        assert figures["unknown_applied"] % 25 == 0  # whole requests applied, or not
    assert "may or may not" in str(err.value)


def test_after_a_read_timeout_the_unknown_writes_may_be_stored_or_not(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    """One attempt per request, every one timing out: the injector's coin decides whether the
    server got it. Over several batches both happen, and both are reported unknown."""
    table = table_factory(books)
    once = RetryPolicy(max_attempts=1)
    seen: list[tuple[int, int]] = []
    for seed in range(6):
        writes: list[Row | ItemKey] = [
            Row(n=seed * 100 + i, payload=f"new-{seed * 100 + i}") for i in range(30)
        ]
        faults = fault_injector(table, seed=seed, read_timeout=1.0)
        batch = table.batch_write(policy=once)
        handed: list[Row | ItemKey] = []
        with pytest.raises(BatchIncomplete) as err:
            feed(batch, writes, handed)
        faults.uninstall()
        rows = stored(table)
        unknown = err.value.unknown
        assert [id(w) for w in unknown] == [id(w) for w in writes[:25]]
        assert [id(w) for w in err.value.unprocessed] == [id(w) for w in handed[25:]]
        assert all(_number(w) not in rows for w in err.value.unprocessed)
        seen.append((len(unknown), sum(_number(w) in rows for w in unknown)))
    print(f"(unknown, of which stored) per batch: {seen}")
    assert {stored_count for _, stored_count in seen} == {0, 25}


def test_unprocessed_then_no_answer_stays_unknown(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    """A write whose request timed out (maybe applied) and whose re-send handed it back as
    unprocessed is still of unknown outcome, not "not applied"."""
    table = table_factory(books)
    writes = handed_writes(25, 0)
    faults = fault_injector(table, seed=1, read_timeout=0.5, unprocessed=1.0, limit=None)
    batch = table.batch_write(policy=RetryPolicy(max_attempts=4, base_delay=0.001))
    handed: list[Row | ItemKey] = []
    with pytest.raises(BatchIncomplete) as err:
        feed(batch, writes, handed)
    faults.uninstall()
    figures = check_accounting(table, handed, batch.result, unknown=err.value.unknown)
    assert faults.stats.read_timeouts > 0
    assert figures["unknown"] == 25
    assert figures["not_applied"] == 0


# -- the block or a callback raises -------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_block_raising_propagates_with_the_accounting(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    table = table_factory(books)
    prepare(table, 30)
    writes = handed_writes(140, 30)
    fault_injector(table, seed=8, **MIX)
    batch = table.batch_write(workers=workers, policy=PATIENT)
    handed: list[Row | ItemKey] = []
    with pytest.raises(RuntimeError, match="bad input") as err:
        feed(batch, writes, handed, then=RuntimeError("bad input"))
    figures = check_accounting(table, handed, batch.result)
    assert figures["not_applied"] > 0  # the buffered writes were dropped
    assert any("batch.result.unknown" in note for note in err.value.__notes__)


class Boom(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 4])
def test_raising_progress_callback_propagates_with_the_accounting(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    table = table_factory(books)
    prepare(table, 40)
    writes = handed_writes(400, 40)
    fault_injector(table, seed=13, **MIX)

    raised_at: list[int] = []

    def progress(report: BatchProgress) -> None:
        if report.requests >= 6:
            raised_at.append(len(sent))
            raise Boom("callback")

    batch = table.batch_write(workers=workers, policy=PATIENT, progress=progress)
    handed: list[Row | ItemKey] = []
    with requests_sent(table) as sent, pytest.raises(Boom):
        feed(batch, writes, handed)
    figures = check_accounting(table, handed, batch.result)
    assert figures["applied"] < len(handed) < len(writes)  # stopped early
    assert len(sent) - raised_at[0] <= 2 * workers  # those in flight, not retried
    with pytest.raises(Exception, match="finished"):
        batch.put(Row(n=1, payload="late"))


# -- Ctrl-C ----------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_ctrl_c_during_the_block_stops_it_with_exact_accounting(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    """A real SIGINT to the main thread (as Ctrl-C sends) after the 8th request."""
    table = table_factory(books)
    prepare(table, 40)
    writes = handed_writes(1000, 40)
    fault_injector(table, seed=21, **MIX)
    interrupted_at: list[int] = []
    main = threading.main_thread().ident
    assert main is not None

    def progress(report: BatchProgress) -> None:
        if report.requests >= 8 and not interrupted_at:
            interrupted_at.append(len(sent))
            signal.pthread_kill(main, signal.SIGINT)

    batch = table.batch_write(workers=workers, policy=PATIENT, progress=progress)
    handed: list[Row | ItemKey] = []
    with requests_sent(table) as sent, pytest.raises(KeyboardInterrupt) as err:
        feed(batch, writes, handed)
    figures = check_accounting(table, handed, batch.result)
    assert figures["applied"] < len(writes)
    after = len(sent) - interrupted_at[0]
    print(f"requests sent after the interrupt: {after}")
    assert after <= 2 * workers + 2  # the ones in flight, and no retries of them
    assert any("batch_write" in note for note in err.value.__notes__)


@pytest.mark.parametrize("workers", [1, 4])
def test_ctrl_c_while_the_block_drains(
    table_factory: Factory, fault_injector: FaultInjectorFactory, workers: int
) -> None:
    """``_thread.interrupt_main()`` from a progress callback once the block's body is done
    and ``__exit__`` is sending the rest and waiting."""
    table = table_factory(books)
    writes = handed_writes(210, 0)
    fault_injector(table, seed=2, latency=1.0, max_delay=0.01, unprocessed=0.3)
    draining = threading.Event()
    fired: list[int] = []

    def progress(report: BatchProgress) -> None:
        if draining.is_set() and not fired:
            fired.append(report.done)
            _thread.interrupt_main()

    batch = table.batch_write(workers=workers, policy=PATIENT, progress=progress)
    handed: list[Row | ItemKey] = []
    with pytest.raises(KeyboardInterrupt):
        feed(batch, writes, handed, then=None, after=draining.set)
    assert fired
    check_accounting(table, handed, batch.result)


@pytest.mark.parametrize("workers", [1, 4])
def test_ctrl_c_after_the_server_applied_a_request_is_unknown(
    table_factory: Factory, workers: int
) -> None:
    """Ctrl-C arrives after a response came back but before dynaorm read it: those writes
    are reported unknown (they were stored), never not applied."""
    table = table_factory(books)
    writes = handed_writes(200, 0)
    calls: list[int] = []

    def interrupt(attempt: Attempt, response: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) == 3:
            if threading.current_thread() is threading.main_thread():
                signal.raise_signal(signal.SIGINT)
            else:
                _thread.interrupt_main()

    batch = table.batch_write(workers=workers, policy=PATIENT)
    handed: list[Row | ItemKey] = []
    with (
        hooked(table, "after-call", interrupt, operation="BatchWriteItem"),
        pytest.raises(KeyboardInterrupt),
    ):
        feed(batch, writes, handed)
    figures = check_accounting(table, handed, batch.result)
    if workers == 1:
        assert figures["unknown"] == 25 == figures["unknown_applied"]
        assert figures["applied"] == 50
        assert batch.result.requests == 3  # the interrupted one counts


# -- a server that stops answering ------------------------------------------------------------


class SilentProxy:
    """A loopback HTTP proxy to the test server that forwards every request but, after the
    first ``answer`` requests, never sends the response back (the server applied it): the
    client's read times out."""

    def __init__(self, upstream: str, answer: int) -> None:
        host_port = upstream.split("//", 1)[1].rstrip("/")
        self.upstream_host, _, port = host_port.partition(":")
        self.upstream_port = int(port or 80)
        self.answer = answer
        self.forwarded = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, name="silent-proxy")
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="silent-proxy-conn")
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        reader = conn.makefile("rb")
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=10)
        try:
            while not self.closing.is_set():
                try:
                    line = reader.readline()
                except TimeoutError:
                    continue
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := reader.readline().decode()) not in ("\r\n", "\n", ""):
                    name, _, value = header.partition(":")
                    headers[name.strip()] = value.strip()
                body = reader.read(int(headers.get("Content-Length", "0")))
                upstream.request(method, path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                with self.lock:
                    self.forwarded += 1
                    silent = self.forwarded > self.answer
                if silent:
                    self.closing.wait()  # hold the connection; the client times out
                    return
                head = f"HTTP/1.1 {response.status} {response.reason}\r\n"
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection"):
                        head += f"{name}: {value}\r\n"
                head += f"Content-Length: {len(payload)}\r\n\r\n"
                conn.sendall(head.encode("latin-1") + payload)
        finally:
            upstream.close()
            reader.close()
            conn.close()

    def close(self) -> None:
        self.closing.set()
        self.server.close()
        self.acceptor.join()
        for thread in self.threads:
            thread.join()


@pytest.fixture
def silent_proxy(dynamodb_endpoint: str) -> Iterator[Callable[[int], SilentProxy]]:
    proxies: list[SilentProxy] = []

    def make(answer: int) -> SilentProxy:
        proxies.append(SilentProxy(dynamodb_endpoint, answer))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_a_server_that_stops_answering_leaves_unknown_not_unprocessed(
    table_factory: Factory, silent_proxy: Callable[[int], SilentProxy], workers: int
) -> None:
    """Two requests are answered, then the server applies requests but never answers
    (read timeouts): the unanswered writes are reported unknown, and they were stored."""
    table = table_factory(books)
    writes = handed_writes(150, 0)
    proxy = silent_proxy(2)
    batch = table.batch_write(workers=workers, policy=SHORT)
    handed: list[Row | ItemKey] = []
    with (
        table.override(endpoint_url=proxy.url, read_timeout=0.3),
        pytest.raises(BatchIncomplete) as err,
    ):
        feed(batch, writes, handed)
    figures = check_accounting(
        table, handed, batch.result, unprocessed=err.value.unprocessed, unknown=err.value.unknown
    )
    assert figures["applied"] == 50
    assert figures["unknown"] >= 25
    assert figures["unknown_applied"] == figures["unknown"]
    assert figures["not_applied"] == len(handed) - 50 - figures["unknown"]
