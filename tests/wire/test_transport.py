"""The transport's guarantees against real servers: bounded time against a server that never
answers, fork safety, and a client cache that rotating credentials cannot grow."""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator

import botocore.credentials
import pytest
from pynamodb.attributes import UnicodeAttribute
from support import requests_sent, write_all

from dynaorm import (
    BatchIncomplete,
    DynaormError,
    EndpointUnavailable,
    Entity,
    Key,
    RequestTimeout,
    RetryPolicy,
    Settings,
    Table,
)
from dynaorm.faults import FaultInjector
from dynaorm.wire.clients import MAX_CACHED_CLIENTS, cached_clients
from dynaorm.wire.hooks import hooks_for
from dynaorm.wire.retry import DEFAULT_POLICY

Factory = Callable[[Table], Table]

records = Table("test-transport-records")


class Record(Entity, table=records):
    record_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    primary = Key(pk="RECORD#{record_id}", sk="RECORD")


# -- a server that accepts connections and never answers ------------------------------------


class SilentServer:
    """A loopback socket server that accepts every connection, reads what it is sent, and
    never answers: the worst kind of unresponsive server (nothing is refused, nothing
    times out on connecting)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


silent = Table("test-transport-silent")


class Silent(Entity, table=silent):
    silent_id = UnicodeAttribute()
    primary = Key(pk="SILENT#{silent_id}", sk="SILENT")


@pytest.fixture
def silent_table(silent_server: SilentServer) -> Iterator[Table]:
    saved = (silent.settings, silent.retry_policy)
    silent.configure(endpoint_url=silent_server.url)
    try:
        yield silent
    finally:
        silent.settings, silent.retry_policy = saved


# With the defaults (deadline 20 s, read_timeout 10 s, connect_timeout 5 s) a call ends within
# deadline + connect_timeout = 25 s; measured: about 20 s. The bound asserted is generous.
DEFAULT_BOUND = 40.0


def test_the_defaults_give_a_typed_error_in_bounded_time(silent_table: Table) -> None:
    assert DEFAULT_POLICY.deadline == 20.0
    assert silent_table.transport.settings.read_timeout == 10.0
    outcome: dict[str, object] = {}

    def big_batch() -> None:  # a 20,000-item batch against the same server, at the same time
        started = time.monotonic()
        try:
            with silent_table.batch_write() as batch:
                for i in range(20_000):
                    batch.put(Silent(silent_id=str(i)))
        except DynaormError as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    batch_thread = threading.Thread(target=big_batch)
    batch_thread.start()
    started = time.monotonic()
    with requests_sent(silent_table) as sent, pytest.raises(RequestTimeout) as caught:
        Silent.get(silent_id="s1")
    elapsed = time.monotonic() - started
    batch_thread.join(timeout=DEFAULT_BOUND + 10)
    attempts = sent.count("GetItem")
    print(f"\nsilent server, defaults: get() raised after {elapsed:.1f}s ({attempts} attempts)")
    assert elapsed < DEFAULT_BOUND
    assert attempts == 2  # 10 s, then the 10 s left
    assert isinstance(caught.value, EndpointUnavailable)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.__cause__ is not None
    assert "GetItem" in str(caught.value)
    assert not batch_thread.is_alive()
    assert isinstance(outcome.get("error"), BatchIncomplete | RequestTimeout)
    batch_elapsed = outcome["elapsed"]
    assert isinstance(batch_elapsed, float)
    print(f"silent server, defaults: a 20,000-item batch raised after {batch_elapsed:.1f}s")
    assert batch_elapsed < DEFAULT_BOUND


def test_an_explicit_deadline_cuts_the_attempt_in_flight(silent_table: Table) -> None:
    silent_table.configure(read_timeout=30.0)  # one attempt alone would wait 30 s
    silent_table.retry_policy = RetryPolicy(deadline=1.5)
    started = time.monotonic()
    with requests_sent(silent_table) as sent, pytest.raises(RequestTimeout):
        Silent.get(silent_id="s1")
    elapsed = time.monotonic() - started
    print(f"\nsilent server, deadline 1.5 s, read_timeout 30 s: raised after {elapsed:.2f}s")
    assert elapsed < 10.0  # far below the read timeout: the attempt in flight was cut off
    assert len(sent) == 1


def test_the_deadline_bounds_every_attempt_of_a_call(silent_table: Table) -> None:
    # Each attempt times out after 1 s and is retried; the last one is cut to the deadline.
    silent_table.configure(read_timeout=1.0)
    silent_table.retry_policy = RetryPolicy(deadline=2.5, base_delay=0.01, cap=0.01)
    started = time.monotonic()
    with requests_sent(silent_table) as sent, pytest.raises(RequestTimeout):
        Silent.get(silent_id="s1")
    elapsed = time.monotonic() - started
    print(
        f"\nsilent server, deadline 2.5 s, read_timeout 1 s: {len(sent)} attempts, {elapsed:.2f}s"
    )
    assert elapsed < 8.0
    assert len(sent) == 3  # 1 s + 1 s + the half second left


@pytest.mark.parametrize("workers", [1, 4])
def test_batches_are_bounded_by_the_deadline_too(silent_table: Table, workers: int) -> None:
    silent_table.configure(read_timeout=30.0)
    policy = RetryPolicy(deadline=1.5)
    started = time.monotonic()

    def write_all() -> None:
        with silent_table.batch_write(workers=workers, policy=policy) as batch:
            for i in range(500):
                batch.put(Silent(silent_id=str(i)))

    with pytest.raises(BatchIncomplete) as caught:
        write_all()
    elapsed = time.monotonic() - started
    print(f"\nsilent server, deadline 1.5 s, {workers} worker(s): batch_write {elapsed:.2f}s")
    assert elapsed < 10.0
    # What was sent and never acknowledged is reported, as of unknown outcome (never as "not
    # applied"), and every write handed in is accounted for.
    incomplete = caught.value
    assert incomplete.unknown
    assert incomplete.result is not None
    handed_in = incomplete.result.handed_in
    assert handed_in == incomplete.applied + len(incomplete.unprocessed) + len(incomplete.unknown)
    started = time.monotonic()
    with pytest.raises(BatchIncomplete):
        silent_table.batch_get(
            [Silent.key(silent_id=str(i)) for i in range(300)], workers=workers, policy=policy
        )
    elapsed = time.monotonic() - started
    print(f"silent server, deadline 1.5 s, {workers} worker(s): batch_get {elapsed:.2f}s")
    assert elapsed < 10.0


# A child-process server: answers every request with an ACTIVE table (enough for describe()).
_CHILD_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"Table": {"TableName": "stopped", "TableStatus": "ACTIVE"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(HTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up while the server was stopped

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def test_a_server_process_suspended_with_sigstop_gives_a_typed_error_in_bounded_time() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        table = Table(
            "test-transport-stopped",
            settings=Settings(endpoint_url=f"http://127.0.0.1:{port}", read_timeout=30.0),
            retry_policy=RetryPolicy(deadline=2.0),
        )
        assert table.describe()["TableStatus"] == "ACTIVE"  # answering, connection kept alive
        os.kill(child.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            table.describe()
        elapsed = time.monotonic() - started
        print(f"\nSIGSTOPped server, deadline 2 s, read_timeout 30 s: raised after {elapsed:.2f}s")
        assert elapsed < 10.0
        os.kill(child.pid, signal.SIGCONT)
        assert table.describe()["TableStatus"] == "ACTIVE"  # and it recovers
    finally:
        child.kill()
        child.wait(timeout=10)


def test_the_defaults_ride_out_ordinary_throttling(table_factory: Factory) -> None:
    table = table_factory(records)
    assert table.retry_policy is DEFAULT_POLICY
    for i in range(20):
        Record(record_id=str(i), owner="me").save()
    # Six throttles in a row on one request, then a mix over many.
    with FaultInjector(seed=2, throttle=1.0, limit=6).install(table) as faults:
        assert Record.get(record_id="0") is not None
    assert faults.stats.throttled == 6
    with FaultInjector(seed=3, throttle=0.5).install(table) as faults:
        found = [Record.get(record_id=str(i)) for i in range(20)]
    assert all(r is not None for r in found)
    assert faults.stats.throttled > 5


# -- fork safety -----------------------------------------------------------------------------


def _read_report(fd: int, timeout: float) -> dict[str, object]:
    chunks = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    return dict(json.loads(b"".join(chunks) or b"{}"))


def test_a_forked_child_never_uses_the_parents_client_or_connections(
    table_factory: Factory,
) -> None:
    table = table_factory(records)
    ids = range(40)
    write_all(
        table,
        [Record(record_id=f"{who}-{i}", owner=who) for who in ("parent", "child") for i in ids],
    )
    got = Record.get(record_id="parent-0")  # a client and a kept-alive connection are now cached
    assert got is not None
    parent_client = table.transport.client
    rounds = 5
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(read_end)
            used_parents: list[str] = []
            hooks_for(parent_client).register(
                "before-send", lambda attempt: used_parents.append("sent")
            )
            wrong = errors = 0
            for _ in range(rounds):
                for i in ids:
                    try:
                        item = Record.get(record_id=f"child-{i}")
                    except Exception:
                        errors += 1
                        continue
                    if item is None or (item.record_id, item.owner) != (f"child-{i}", "child"):
                        wrong += 1
            report = {
                "pid": os.getpid(),
                "wrong": wrong,
                "errors": errors,
                "same_client": table.transport.client is parent_client,
                "sent_through_parents_client": len(used_parents),
            }
            os.write(write_end, json.dumps(report).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        wrong = 0
        for _ in range(rounds):  # at the same time as the child
            for i in ids:
                item = Record.get(record_id=f"parent-{i}")
                if item is None or (item.record_id, item.owner) != (f"parent-{i}", "parent"):
                    wrong += 1
        report = _read_report(read_end, timeout=60)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report["pid"] == pid
    assert pid != os.getpid()
    assert report["same_client"] is False
    assert report["sent_through_parents_client"] == 0
    assert (report["wrong"], report["errors"]) == (0, 0)
    assert wrong == 0
    assert table.transport.client is parent_client  # the parent keeps its own


# -- a bounded client cache ------------------------------------------------------------------


def _live(refs: list[weakref.ref[object]]) -> int:
    gc.collect()
    return sum(1 for ref in refs if ref() is not None)


def test_rotating_credentials_neither_grows_the_cache_nor_keeps_old_secrets(
    table_factory: Factory,
) -> None:
    table = table_factory(records)
    Record(record_id="r", owner="me").save()
    run = uuid.uuid4().hex
    secrets = [f"secret-{run}-{i}" for i in range(35)]
    tokens = [f"token-{run}-{i}" for i in range(35)]
    clients: list[weakref.ref[object]] = []
    before = cached_clients()
    for i, (secret, token) in enumerate(zip(secrets, tokens, strict=True)):
        table.configure(
            aws_access_key_id=f"AKIA{i:04d}", aws_secret_access_key=secret, aws_session_token=token
        )
        found = Record.get(record_id="r")  # local servers accept any credentials
        assert found is not None
        clients.append(weakref.ref(table.transport.client))
    assert cached_clients() <= max(before, 1) + 1
    assert _live(clients) == 1  # only the current credentials' client
    old = set(secrets[:-1]) | set(tokens[:-1])
    kept = [
        o
        for o in gc.get_objects()
        if (isinstance(o, Settings) and {o.aws_secret_access_key, o.aws_session_token} & old)
        or (isinstance(o, botocore.credentials.Credentials) and {o.secret_key, o.token} & old)
    ]
    assert kept == []


def test_the_cache_holds_at_most_max_cached_clients(dynamodb_endpoint: str) -> None:
    tables = [
        Table(f"test-transport-many-{i}", settings=Settings(read_timeout=1.0 + i / 100))
        for i in range(MAX_CACHED_CLIENTS + 10)
    ]
    for table in tables:
        assert table.transport.client is not None
        assert cached_clients() <= MAX_CACHED_CLIENTS
    assert cached_clients() == MAX_CACHED_CLIENTS
    refs: list[weakref.ref[object]] = [weakref.ref(t.transport.client) for t in tables]
    del tables
    assert _live(refs) <= MAX_CACHED_CLIENTS  # evicted clients go once no table holds them
