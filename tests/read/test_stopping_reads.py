"""Leaving a read early stops at once; plain reads run on the caller's thread, lazily.

The stop tests read through a loopback proxy (``stall_proxy``) that lets the first requests
reach the real server and then stops answering, so later requests are really in flight and
fail with botocore's read timeout, again on every retry: exhausting the default retry policy
takes at least ``10 * READ_TIMEOUT`` seconds. Leaving the loop (``break``, an exception or a
Ctrl-C) must return well within that, start no queued segment and no retry after the stop
(counted both by a ``before-send`` hook and by the proxy), and the worker threads must end by
themselves once their request in flight has timed out.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from pynamodb.attributes import NumberAttribute
from stall_proxy import StallProxy, stall_proxy
from support import fresh_table, hooked, write_all

from dynaorm import CollectionQuery, Entity, Key, Query, Scan, Table
from dynaorm.wire.hooks import Attempt

AnyRead = Query[Any] | Scan[Any] | CollectionQuery

stop_table = Table("test-stopping-reads")
PARTS = 40
N = 400
READ_TIMEOUT = 3.0
# Leaving returns at once (a few milliseconds measured): it waits neither for the retries
# (>= 10 * READ_TIMEOUT) nor for the request in flight (READ_TIMEOUT). A generous bound:
RETURN_BOUND = READ_TIMEOUT / 2
# The workers end by themselves once their request in flight has timed out (one READ_TIMEOUT);
# had they retried, it would take the whole retry cycle.
THREADS_END_BOUND = 3 * READ_TIMEOUT


class Sample(Entity, table=stop_table):
    part = NumberAttribute()
    n = NumberAttribute()
    primary = Key(pk="PART#{part}", sk="N#{n:04d}")


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-stopping-secret")


@pytest.fixture(scope="module")
def samples(dynamodb_endpoint: str) -> Iterator[Table]:
    with fresh_table(stop_table, dynamodb_endpoint) as table:
        write_all(table, [Sample(part=n % PARTS, n=n) for n in range(N)])
        yield table


@attrs.define
class Sent:
    """One request as the transport's ``before-send`` hook saw it."""

    at: float
    thread: str


@contextlib.contextmanager
def sent_requests(table: Table) -> Iterator[list[Sent]]:
    """Every request the table's client sends in the block (first of the before-send hooks)."""
    sent: list[Sent] = []

    def record(attempt: Attempt) -> None:
        sent.append(Sent(time.monotonic(), threading.current_thread().name))

    with hooked(table, "before-send", record, first=True):
        yield sent


@contextlib.contextmanager
def stalling(table: Table, endpoint: str, passes: int) -> Iterator[tuple[StallProxy, list[Sent]]]:
    """``table`` read through a proxy that answers ``passes`` requests, then stalls."""
    with (
        stall_proxy(endpoint, passes=passes) as proxy,
        table.override(endpoint_url=proxy.url, read_timeout=READ_TIMEOUT),
        sent_requests(table) as sent,
    ):
        yield proxy, sent


def dynaorm_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("dynaorm-")]


def wait_for_threads_to_end() -> float:
    """Seconds until no dynaorm worker thread is left (AssertionError past the bound)."""
    started = time.monotonic()
    while dynaorm_threads():
        assert time.monotonic() - started < THREADS_END_BOUND, dynaorm_threads()
        time.sleep(0.02)
    return time.monotonic() - started


class Boom(Exception):
    pass


def interrupt_main_thread() -> float:
    """Deliver SIGINT (Ctrl-C) to the main thread; returns when it was sent."""
    at = time.monotonic()
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    return at


def require_ctrl_c() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C is delivered to the main thread")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT does not raise KeyboardInterrupt here")


def leave(mode: str, reader: AnyRead, proxy: StallProxy, stalls: int) -> float:
    """Iterate ``reader``; once ``stalls`` requests are stuck in flight, leave the loop by
    ``mode``. Returns the seconds from the stop to being back in the caller."""
    stopped_at: list[float] = []
    if mode == "ctrl-c":
        require_ctrl_c()
        proxy.on_stall = lambda n: (
            stopped_at.append(interrupt_main_thread()) if n == stalls else None
        )
        with pytest.raises(KeyboardInterrupt):
            for _ in reader:
                pass
    elif mode == "raise":

        def fail_while_reading() -> None:
            for _ in reader:
                proxy.wait_stalled(stalls)
                stopped_at.append(time.monotonic())
                raise Boom

        with pytest.raises(Boom):
            fail_while_reading()
    else:
        for _ in reader:
            proxy.wait_stalled(stalls)
            stopped_at.append(time.monotonic())
            break
    returned = time.monotonic()
    returned_at.append(returned)
    assert len(stopped_at) == 1
    return returned - stopped_at[0]


def check_nothing_after(stop: float, proxy: StallProxy, sent: list[Sent]) -> None:
    """No request after ``stop``; prints the figures (``pytest -s``) for the reliability docs."""
    assert proxy.after(stop) == []
    assert [s for s in sent if s.at > stop] == []
    print(
        f"stopped: returned {(returned_at[-1] - stop) * 1000:.1f} ms after the stop; worker "
        f"threads gone {time.monotonic() - stop:.2f} s after it; 0 requests after it"
    )


returned_at: list[float] = []


MODES = ["break", "raise", "ctrl-c"]


@pytest.mark.parametrize("mode", MODES)
def test_leaving_a_parallel_scan_returns_at_once_and_starts_nothing_more(
    samples: Table, dynamodb_endpoint: str, mode: str
) -> None:
    # 4 segments on 2 workers: segments 0 and 1 deliver a page each, then their next
    # requests stall; segments 2 and 3 wait in the queue.
    with stalling(samples, dynamodb_endpoint, passes=2) as (proxy, sent):
        scan = Sample.scan().segments(4, workers=2).page_size(5)
        took = leave(mode, scan, proxy, stalls=2)
        stop = time.monotonic() - took
        assert took < RETURN_BOUND
        wait_for_threads_to_end()
        check_nothing_after(stop, proxy, sent)
        assert {r.segment for r in proxy.received} == {0, 1}  # no queued segment started
        assert len(proxy.received) == 4  # two pages, two stalled requests, no retry


@pytest.mark.parametrize("mode", MODES)
def test_leaving_a_read_ahead_query_returns_at_once_and_retries_nothing(
    samples: Table, dynamodb_endpoint: str, mode: str
) -> None:
    with stalling(samples, dynamodb_endpoint, passes=1) as (proxy, sent):
        query = Sample.query(part=0).page_size(5).read_ahead()
        took = leave(mode, query, proxy, stalls=1)
        stop = time.monotonic() - took
        assert took < RETURN_BOUND
        wait_for_threads_to_end()
        check_nothing_after(stop, proxy, sent)
        assert len(proxy.received) == 2  # the first page and the page read ahead


READ_AHEAD_READERS: dict[str, Callable[[Table], AnyRead]] = {
    "scan": lambda table: Sample.scan().page_size(5).read_ahead(),
    "collection": lambda table: (
        table.partition_query(Sample.primary, part=1).page_size(5).read_ahead()
    ),
}


@pytest.mark.parametrize("what", sorted(READ_AHEAD_READERS))
def test_breaking_out_of_other_read_ahead_reads_returns_at_once(
    samples: Table, dynamodb_endpoint: str, what: str
) -> None:
    with stalling(samples, dynamodb_endpoint, passes=1) as (proxy, sent):
        took = leave("break", READ_AHEAD_READERS[what](samples), proxy, stalls=1)
        stop = time.monotonic() - took
        assert took < RETURN_BOUND
        wait_for_threads_to_end()
        check_nothing_after(stop, proxy, sent)
        assert len(proxy.received) == 2


def test_ctrl_c_during_a_parallel_count_returns_at_once(
    samples: Table, dynamodb_endpoint: str
) -> None:
    require_ctrl_c()
    with stalling(samples, dynamodb_endpoint, passes=0) as (proxy, sent):
        stopped_at: list[float] = []
        proxy.on_stall = lambda n: stopped_at.append(interrupt_main_thread()) if n == 2 else None
        with pytest.raises(KeyboardInterrupt):
            Sample.scan().segments(4, workers=2).count()
        returned_at.append(time.monotonic())
        took = returned_at[-1] - stopped_at[0]
        assert took < RETURN_BOUND
        wait_for_threads_to_end()
        check_nothing_after(stopped_at[0], proxy, sent)
        assert sorted(r.segment for r in proxy.received) == [0, 1]


def test_ctrl_c_during_a_plain_scans_request_returns_at_once(
    samples: Table, dynamodb_endpoint: str
) -> None:
    # The request is on the caller's own thread: Ctrl-C ends its wait for the answer.
    with stalling(samples, dynamodb_endpoint, passes=1) as (proxy, sent):
        took = leave("ctrl-c", Sample.scan().page_size(5), proxy, stalls=1)
        stop = time.monotonic() - took
        assert took < RETURN_BOUND
        check_nothing_after(stop, proxy, sent)
        assert len(proxy.received) == 2
        assert {s.thread for s in sent} == {threading.current_thread().name}


# -- no hidden read-ahead ------------------------------------------------------------------

PLAIN_READERS: dict[str, Callable[[Table], AnyRead]] = {
    "entity scan": lambda table: Sample.scan(),
    "table scan": lambda table: table.scan(),
    "query": lambda table: Sample.query(part=2),
    "collection": lambda table: table.partition_query(Sample.primary, part=3),
    "one segment": lambda table: Sample.scan().segment(1, of=3),
}


@pytest.mark.parametrize("what", sorted(PLAIN_READERS))
def test_a_plain_read_sends_a_request_on_the_callers_thread_only_when_a_page_is_wanted(
    samples: Table, what: str
) -> None:
    reader = PLAIN_READERS[what](samples).page_size(5)
    with sent_requests(samples) as sent:
        items = iter(reader)
        assert sent == []  # nothing before the first item is asked for
        next(items)
        assert len(sent) == 1
        for _ in range(4):  # the rest of the first page
            next(items)
        assert len(sent) == 1
        next(items)  # the first item of the second page
        assert len(sent) == 2
        assert {s.thread for s in sent} == {threading.current_thread().name}
        assert dynaorm_threads() == []
        pages = reader.pages()
        next(pages)
        assert len(sent) == 3
        pages.close()


def test_a_plain_count_runs_on_the_callers_thread(samples: Table) -> None:
    with sent_requests(samples) as sent:
        assert Sample.scan().count() == N
        assert Sample.query(part=0).count() == N // PARTS
    assert sent
    assert {s.thread for s in sent} == {threading.current_thread().name}


ASKED_FOR: dict[str, tuple[Callable[[], Any], str]] = {
    "segments": (lambda: Sample.scan().segments(3).page_size(50).all(), "dynaorm-scan_"),
    "segments count": (lambda: Sample.scan().segments(3).count(), "dynaorm-scan-count_"),
    "read-ahead query": (
        lambda: Sample.query(part=0).page_size(3).read_ahead().all(),
        "dynaorm-read-ahead_",
    ),
    "read-ahead scan": (
        lambda: Sample.scan().page_size(100).read_ahead().all(),
        "dynaorm-read-ahead_",
    ),
}


@pytest.mark.parametrize("what", sorted(ASKED_FOR))
def test_threads_only_when_asked_for_and_named(samples: Table, what: str) -> None:
    run, prefix = ASKED_FOR[what]
    with sent_requests(samples) as sent:
        run()
    assert len(sent) > 1
    assert all(s.thread.startswith(prefix) for s in sent), {s.thread for s in sent}
    wait_for_threads_to_end()


def test_a_read_ahead_scan_returns_what_a_plain_scan_does(samples: Table) -> None:
    plain = Sample.scan().page_size(30)
    pages = list(plain.read_ahead().pages())
    assert [int(s.n) for p in pages for s in p.items] == [int(s.n) for s in plain]
    assert pages[-1].checkpoint.finished
    first = next(iter(plain.read_ahead().pages()))
    rest = [int(s.n) for s in plain.read_ahead().resume(first.checkpoint)]
    assert sorted([int(s.n) for s in first.items] + rest) == list(range(N))
