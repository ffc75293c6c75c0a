"""The retry policy, the retry budget, and the transport's retries against injected faults."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
from pynamodb.attributes import UnicodeAttribute

from dynaorm import (
    EndpointUnavailable,
    Entity,
    Key,
    RetryPolicy,
    ServiceError,
    Table,
    Throttled,
    ValidationError,
)
from dynaorm.faults import FaultInjector
from dynaorm.wire.retry import Retrier

Factory = Callable[[Table], Table]
FAST = RetryPolicy(max_attempts=5, base_delay=0.001, cap=0.004)

notes = Table("test-retry-notes")


class Note(Entity, table=notes):
    note_id = UnicodeAttribute()
    text = UnicodeAttribute()
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


# -- RetryPolicy ----------------------------------------------------------------------------


def test_one_delay_per_retry() -> None:
    assert len(list(RetryPolicy(max_attempts=1).delays())) == 0
    assert len(list(RetryPolicy(max_attempts=7).delays())) == 6


def test_exponential_bound_and_cap_without_jitter() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.1, cap=1.0, jitter=False)
    assert list(policy.delays()) == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_full_jitter_stays_within_the_bound() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=0.1, cap=0.3)
    for _ in range(200):
        delays = list(policy.delays())
        bounds = [0.1, 0.2, 0.3, 0.3, 0.3]
        assert all(0.0 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert len({policy.backoff(3) for _ in range(50)}) > 1  # random, not fixed


def test_huge_retry_numbers_do_not_overflow() -> None:
    assert RetryPolicy(cap=2.0, jitter=False).backoff(10_000) == 2.0


def test_the_deadline_counts_from_the_first_attempt() -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=0.05, cap=0.05, deadline=0.1, jitter=False)
    delays = policy.delays()
    time.sleep(0.12)  # the first attempt took longer than the deadline
    assert list(delays) == []


def test_the_deadline_shortens_the_last_sleep() -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=0.05, cap=0.05, deadline=0.12, jitter=False)
    started = time.monotonic()
    for delay in policy.delays():
        time.sleep(delay)
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay": 0}, {"cap": -1}, {"deadline": 0}, {"deadline": -2.0}],
)
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# -- Retrier --------------------------------------------------------------------------------


def test_retrier_counts_and_logs_every_retry_and_the_give_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retrier = Retrier(RetryPolicy(max_attempts=3, base_delay=0.001), "Thing on 't'")
    with caplog.at_level(logging.INFO, logger="dynaorm"):
        assert retrier.retry("throttled")
        assert retrier.retry("throttled")
        assert not retrier.retry("throttled")
    assert retrier.retries == 2
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "dynaorm"]
    assert [level for level, _ in records] == ["INFO", "INFO", "WARNING"]
    assert records[0][1].startswith("Thing on 't': attempt 1: throttled; retrying in")
    assert "giving up after 3 attempt(s) (retry policy exhausted): throttled" in records[2][1]


def test_a_stop_event_ends_a_sleep_and_further_retries() -> None:
    stop = threading.Event()
    retrier = Retrier(RetryPolicy(base_delay=5.0, cap=5.0, jitter=False), "x", stop=stop)
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    assert not retrier.retry("unprocessed")
    assert time.monotonic() - started < 2.0
    assert not retrier.retry("unprocessed")


def test_a_retrier_deadline_counts_from_the_time_it_is_given() -> None:
    policy = RetryPolicy(deadline=60.0, jitter=False)
    assert Retrier(policy, "x", started=0.0).retry("late") is False  # long past the deadline


# -- the transport against injected faults --------------------------------------------------


def test_throttled_requests_are_retried_counted_and_logged(
    table_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    table = table_factory(notes)
    request = {"TableName": table.name, "Key": Note.key(note_id="n").to_request()}
    retrier = Retrier(FAST, "GetItem")
    injector = FaultInjector(seed=1, throttle=1.0, limit=2)
    with injector.install(table), caplog.at_level(logging.INFO, logger="dynaorm"):
        table.transport.call("GetItem", request, idempotent=True, retrier=retrier)
    assert (retrier.requests, retrier.retries, retrier.throttles) == (3, 2, 2)
    assert injector.stats.throttled == 2
    retries = [r for r in caplog.records if "ProvisionedThroughputExceededException" in r.message]
    assert len(retries) == 2


def test_throttling_past_the_policy_raises_throttled(
    table_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    table = table_factory(notes)
    request = {"TableName": table.name, "Key": Note.key(note_id="n").to_request()}
    throttling = FaultInjector(throttle=1.0, throttle_code="ThrottlingException")
    with (
        throttling.install(table),
        caplog.at_level(logging.WARNING, logger="dynaorm"),
        pytest.raises(Throttled) as err,
    ):
        table.transport.call("GetItem", request, idempotent=True, retrier=Retrier(FAST, "GetItem"))
    assert err.value.code == "ThrottlingException"
    assert any("giving up after 5 attempt(s)" in r.message for r in caplog.records)


def test_server_faults_are_retried_only_when_idempotent(table_factory: Factory) -> None:
    table = table_factory(notes)
    item = Note(note_id="n", text="t").to_item()
    request = {"TableName": table.name, "Item": item}
    with FaultInjector(server_error=1.0, limit=1).install(table) as faults:
        table.transport.call("PutItem", request, idempotent=True, retrier=Retrier(FAST, "x"))
    assert faults.stats.server_errors == 1
    with (
        FaultInjector(server_error=1.0, limit=1).install(table),
        pytest.raises(ServiceError) as err,
    ):
        table.transport.call("PutItem", request, idempotent=False)
    assert err.value.code == "InternalServerError"


def test_extra_retry_codes(table_factory: Factory) -> None:
    table = table_factory(notes)
    request = {"TableName": "no-such-table-" + table.name, "Key": {"PK": {"S": "x"}}}
    retrier = Retrier(RetryPolicy(max_attempts=3, base_delay=0.001), "GetItem")
    with pytest.raises(ServiceError):
        table.transport.call(
            "GetItem",
            request,
            idempotent=True,
            retrier=retrier,
            retry_codes={"ResourceNotFoundException"},
        )
    assert retrier.requests == 3


def test_a_lost_response_is_retried_when_idempotent(table_factory: Factory) -> None:
    table = table_factory(notes)
    request = {"TableName": table.name, "Item": Note(note_id="n", text="t").to_item()}
    with FaultInjector(lost_response=1.0, limit=1).install(table) as faults:
        table.transport.call("PutItem", request, idempotent=True, retrier=Retrier(FAST, "x"))
        assert faults.stats.lost_responses == 1
    with (
        FaultInjector(lost_response=1.0, limit=1).install(table),
        pytest.raises(EndpointUnavailable),
    ):
        table.transport.call("PutItem", request, idempotent=False)
    assert Note.get(note_id="n") == Note(note_id="n", text="t")  # applied all the same
