"""The read-rate limiter (dynaorm/wire/rate.py): a token bucket charged with the capacity each
response reports, or an estimate when it reports none. Against a fake clock."""

from __future__ import annotations

import pytest

from dynaorm.wire.rate import ReadRateLimiter, charge


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_token_bucket_holds_the_average_rate() -> None:
    clock = FakeClock()
    limiter = ReadRateLimiter(10, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire()
        limiter.consume(2.0)  # each request consumes 2 units
    # 200 units at 10/s, less the initial one-second burst: about 19 seconds.
    assert 18.5 <= clock.now <= 19.5
    charge(limiter, {"ScannedCount": 8}, consistent=False)  # no ConsumedCapacity: estimated
    assert limiter.consumed == pytest.approx(204.0)
    charge(limiter, {"ConsumedCapacity": {"CapacityUnits": 1.5}}, consistent=False)
    assert limiter.consumed == pytest.approx(205.5)
