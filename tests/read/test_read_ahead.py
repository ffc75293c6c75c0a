"""Read-ahead: the same requests and items as plain paging, with the next request sent early."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import error_response, fresh_table, hooked

from dynaorm import Entity, Key, RetryPolicy, ServiceError, Table
from dynaorm.read.read_ahead import Requests
from dynaorm.wire.hooks import Answer, Attempt

ahead_table = Table("test-read-ahead")
N = 300


class Reading(Entity, table=ahead_table):
    sensor = UnicodeAttribute()
    seq = NumberAttribute()
    value = NumberAttribute()
    primary = Key(pk="SENSOR#{sensor}", sk="READING#{seq:06d}")


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-read-ahead-secret")


@pytest.fixture(scope="module")
def readings(dynamodb_endpoint: str) -> Iterator[Table]:
    with fresh_table(ahead_table, dynamodb_endpoint) as table:
        with table.batch_write() as batch:
            for seq in range(N):
                batch.put(Reading(sensor="s1", seq=seq, value=seq % 7))
        yield table


Capture = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def sent(readings: Table) -> Iterator[Capture]:
    """The Query requests sent while the test runs, in order."""
    requests: list[dict[str, Any]] = []

    def capture(attempt: Attempt) -> None:
        requests.append(dict(attempt.params))

    with hooked(readings, "before-send", capture, operation="Query", first=True):
        yield lambda: requests


def _threads() -> int:
    return sum(t.name.startswith("dynaorm-read-ahead") for t in threading.enumerate())


def _wait_no_threads(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _threads() == 0


@pytest.mark.parametrize(
    "shape",
    [
        lambda q: q.page_size(40),
        lambda q: q.page_size(40).where(Reading.value >= 3),
        lambda q: q.page_size(25).limit(130),
        lambda q: q.page_size(50).where(Reading.value == 0).limit(17).reverse(),
    ],
)
def test_same_items_and_same_requests_as_without(sent: Capture, shape: Any) -> None:
    query = shape(Reading.query(sensor="s1"))
    plain = [r.seq for r in query]
    plain_requests = list(sent())
    sent().clear()
    ahead = [r.seq for r in query.read_ahead()]
    assert ahead == plain
    assert sent() == plain_requests
    assert len(plain_requests) > 2
    assert _threads() == 0


def test_pages_with_a_limit_and_cursors_match(sent: Capture) -> None:
    query = Reading.query(sensor="s1").page_size(30).limit(70)
    plain = query.page()
    ahead = query.read_ahead().page()
    assert [r.seq for r in ahead.items] == [r.seq for r in plain.items]
    resumed = query.read_ahead().after(ahead.cursor).page()
    assert [r.seq for r in resumed.items] == list(range(70, 140))


def test_a_page_without_a_limit_sends_one_request(sent: Capture) -> None:
    page = Reading.query(sensor="s1").page_size(50).read_ahead().page()
    assert len(page.items) == 50
    assert len(sent()) == 1  # nothing read ahead for a page that is one response


def test_stopping_early_costs_at_most_one_request_and_no_thread(sent: Capture) -> None:
    pages = Reading.query(sensor="s1").page_size(50).read_ahead().pages()
    first = next(pages)
    assert len(first.items) == 50
    pages.close()  # returns at once, even with the request read ahead still in flight
    assert len(sent()) <= 2
    _wait_no_threads()  # that request's worker ends by itself once its answer comes


def test_an_error_of_the_request_read_ahead_is_raised_where_the_page_is_taken(
    readings: Table, sent: Capture
) -> None:
    def fail_resumed(attempt: Attempt) -> Answer | None:
        if "ExclusiveStartKey" in attempt.params:
            return error_response(400, "ValidationException", "refused by the test")
        return None

    with hooked(readings, "before-send", fail_resumed, operation="Query", first=True):
        pages = Reading.query(sensor="s1").page_size(100).read_ahead().pages()
        first = next(pages)  # its items arrive although the next request has failed
        assert [r.seq for r in first.items] == list(range(100))
        with pytest.raises(ServiceError, match="refused by the test"):
            next(pages)
    assert _threads() == 0


def test_requests_without_read_ahead_send_on_answer() -> None:
    log: list[int] = []

    def send(request: dict[str, Any]) -> dict[str, Any]:
        log.append(request["n"])
        return {"n": request["n"]}

    requests = Requests(send, ahead=False)
    requests.submit({"n": 1})
    assert log == []
    assert requests.answer() == {"n": 1}
    assert log == [1]
    with pytest.raises(RuntimeError):
        requests.answer()
    requests.close()


def test_retry_policy_applies_to_requests_read_ahead(readings: Table) -> None:
    attempts: list[int] = []

    def throttle_once(attempt: Attempt) -> Answer | None:
        if "ExclusiveStartKey" in attempt.params and not attempts:
            attempts.append(1)
            return error_response(400, "ThrottlingException", "slow down")
        return None

    saved = readings.retry_policy
    readings.retry_policy = RetryPolicy(max_attempts=3, base_delay=0.001)
    try:
        with hooked(readings, "before-send", throttle_once, operation="Query", first=True):
            seqs = [r.seq for r in Reading.query(sensor="s1").page_size(120).read_ahead()]
    finally:
        readings.retry_policy = saved
    assert seqs == list(range(N))
    assert attempts == [1]
