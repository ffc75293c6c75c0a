"""RetryPolicy's delays: one per retry, doubling up to the cap, full jitter, and the deadline
(against a fake clock)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, strategies as st

import dynaorm.wire.retry
from dynaorm import RetryPolicy, ValidationError

# -- the retry policy -----------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [1, 2, 5, 10])
def test_one_delay_per_retry(attempts: int) -> None:
    assert len(list(RetryPolicy(max_attempts=attempts).delays())) == attempts - 1


def test_delays_double_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.1, cap=1.0, jitter=False)
    assert list(policy.delays()) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_huge_retry_numbers_do_not_overflow() -> None:
    policy = RetryPolicy(base_delay=0.5, cap=3.0, jitter=False)
    assert policy.backoff(10_000) == 3.0


@given(
    base=st.floats(min_value=1e-4, max_value=10),
    cap=st.floats(min_value=1e-4, max_value=60),
    retry=st.integers(min_value=1, max_value=200),
)
def test_full_jitter_stays_within_bounds(base: float, cap: float, retry: int) -> None:
    bound = min(cap, base * 2 ** min(retry - 1, 62))
    delay = RetryPolicy(base_delay=base, cap=cap).backoff(retry)
    assert 0.0 <= delay <= bound
    assert RetryPolicy(base_delay=base, cap=cap, jitter=False).backoff(retry) == bound


@given(st.integers(min_value=1, max_value=30), st.floats(min_value=1e-3, max_value=5))
def test_every_delay_is_capped(attempts: int, cap: float) -> None:
    delays = list(RetryPolicy(max_attempts=attempts, base_delay=0.5, cap=cap).delays())
    assert len(delays) == attempts - 1
    assert all(0.0 <= d <= cap for d in delays)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def test_deadline_limits_and_shortens_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(dynaorm.wire.retry, "time", SimpleNamespace(monotonic=clock.monotonic))
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, cap=1.0, deadline=2.5, jitter=False)
    delays = policy.delays()
    assert next(delays) == 1.0
    clock.now += 1.0
    assert next(delays) == 1.0
    clock.now += 1.0
    # half a second left before the deadline: the sleep leaves the retry LEAST_ATTEMPT_TIME
    assert next(delays) == pytest.approx(0.5 - dynaorm.wire.retry.LEAST_ATTEMPT_TIME)
    clock.now += 0.5
    assert list(delays) == []


def test_no_retry_after_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(dynaorm.wire.retry, "time", SimpleNamespace(monotonic=clock.monotonic))
    delays = RetryPolicy(deadline=1.0).delays()
    clock.now += 5
    assert list(delays) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "RetryPolicy.max_attempts must be at least 1, got 0"),
        ({"base_delay": 0}, "RetryPolicy.base_delay must be positive, got 0"),
        ({"cap": -1.0}, "RetryPolicy.cap must be positive, got -1.0"),
    ],
)
def test_bad_retry_policies(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        RetryPolicy(**kwargs)
