"""The retry policy shared by every request: exponential backoff with full jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import attrs

from dynaorm._errors import ValidationError

__all__ = ["RetryPolicy"]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValidationError(f"RetryPolicy.{attribute.name} must be positive, got {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValidationError(f"RetryPolicy.{attribute.name} must be at least 1, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """When and how long to wait before retrying.

    The n-th retry (n = 1, 2, ...) sleeps a random time in ``[0, min(cap, base * 2**(n-1))]``
    ("full jitter"), so competing clients spread out instead of retrying in lock step.

    Attributes:
        max_attempts: Attempts in all, the first one included.
        base_delay: Seconds; the upper bound of the first sleep.
        cap: Seconds; no sleep is longer.
        deadline: Seconds from the first attempt after which no retry starts (``None``: none).
        jitter: Full jitter when true; the plain exponential bound when false (for tests).

    Example:
        >>> policy = RetryPolicy(max_attempts=5, base_delay=0.05, cap=1.0)
        >>> len(list(policy.delays()))
        4
    """

    max_attempts: int = attrs.field(default=10, validator=_at_least_one)
    base_delay: float = attrs.field(default=0.05, validator=_positive)
    cap: float = attrs.field(default=5.0, validator=_positive)
    deadline: float | None = None
    jitter: bool = True

    def backoff(self, retry: int) -> float:
        """The sleep before retry number ``retry`` (1-based)."""
        bound = min(self.cap, self.base_delay * (2 ** min(retry - 1, 62)))
        return random.uniform(0.0, bound) if self.jitter else bound

    def delays(self) -> Iterator[float]:
        """Yield one sleep per allowed retry, honouring the deadline.

        The caller sleeps for each value before retrying; when the iterator ends, give up.
        """
        started = time.monotonic()
        for retry in range(1, self.max_attempts):
            delay = self.backoff(retry)
            if self.deadline is not None:
                remaining = self.deadline - (time.monotonic() - started)
                if remaining <= 0:
                    return
                delay = min(delay, remaining)
            yield delay


DEFAULT_POLICY = RetryPolicy()
