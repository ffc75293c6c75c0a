"""Read-rate limiting for scans: a token bucket over consumed read capacity units."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from dynaorm.base.errors import ValidationError

__all__ = ["ReadRateLimiter", "capacity_units", "charge"]


def capacity_units(response: Mapping[str, Any]) -> float | None:
    """The ``CapacityUnits`` of a response's ``ConsumedCapacity``, if it has one."""
    consumed = response.get("ConsumedCapacity")
    if isinstance(consumed, Mapping) and "CapacityUnits" in consumed:
        return float(consumed["CapacityUnits"])
    return None


class ReadRateLimiter:
    """A token bucket over read capacity units, shared by a scan's workers.

    A request starts only while the bucket holds capacity; each response's
    ``ConsumedCapacity`` is then taken out of it, so over time reads average ``rate`` units
    per second (a burst of up to one second's worth, plus one request per worker, may run
    ahead; async readers share it the same way, :meth:`aacquire` for :meth:`acquire`).
    Servers that report no consumed capacity are charged half a unit per scanned item
    (a unit when reads are consistent).

    Args:
        rate: Read capacity units per second.
        clock: Seconds, monotonic (tests inject a fake).
        sleep: Waits (tests inject a fake); a stop event's ``wait`` when stopping matters.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValidationError(f"the read rate must be positive, got {rate!r}")
        self.rate = float(rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.rate
        self._updated = clock()
        self._lock = threading.Lock()
        self.consumed = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def wait(self) -> float | None:
        """The decision, without waiting: ``None`` when a request may start now, else how
        many seconds to wait before asking again (what :meth:`acquire` and
        :meth:`aacquire` sleep)."""
        with self._lock:
            self._refill()
            if self._tokens > 0:
                return None
            return -self._tokens / self.rate + 1e-3

    def acquire(self, stop: threading.Event | None = None) -> None:
        """Wait until a request may start (or ``stop`` is set)."""
        while (wait := self.wait()) is not None:
            if stop is not None:
                if stop.wait(wait):
                    return
            else:
                self._sleep(wait)

    async def aacquire(self) -> None:
        """:meth:`acquire` with ``await``: the same decisions, sleeping with
        ``asyncio.sleep`` (a cancellation stops the wait at once)."""
        while (wait := self.wait()) is not None:
            await asyncio.sleep(wait)

    def consume(self, units: float) -> None:
        """Take the capacity a response consumed out of the bucket."""
        with self._lock:
            self._refill()
            self._tokens -= units
            self.consumed += units


def charge(
    limiter: ReadRateLimiter | None, response: Mapping[str, Any], *, consistent: bool
) -> None:
    """Debit ``limiter`` with what ``response`` consumed (estimated when not reported)."""
    if limiter is None:
        return
    units = capacity_units(response)
    if units is None:
        units = max(1, int(response.get("ScannedCount", 0))) * (1.0 if consistent else 0.5)
    limiter.consume(units)
