"""The retry policy shared by every request: exponential backoff with full jitter."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Iterator

import attrs

from dynaorm.base.errors import ConfigurationError, ValidationError

__all__ = ["DEFAULT_POLICY", "RETRY_MODES", "Retrier", "RetryPolicy", "policy_from_aws"]

logger = logging.getLogger("dynaorm")

# A retry starts only if at least this much of the deadline is left once its sleep ends: an
# attempt cut off at once would only add a request whose answer nobody waits for.
LEAST_ATTEMPT_TIME = 0.05

# Seconds; how often an awaited retry sleep looks at its stop event (it cannot wait on it).
STOP_POLL = 0.01

# Seconds; the default deadline of a call (see RetryPolicy).
DEFAULT_DEADLINE: float | None = 20.0


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

    One policy governs every retry dynaorm makes: requests refused with a throttling error
    (``ProvisionedThroughputExceededException``, ``ThrottlingException``,
    ``RequestLimitExceeded``, ...) and failed connections (the request never left), server
    faults (``InternalServerError``, HTTP 5xx), broken connections and read timeouts for
    requests that are safe to repeat, and the ``UnprocessedItems`` /
    ``UnprocessedKeys`` of batch requests. ``max_attempts`` counts every send of one request,
    re-sends of its unprocessed part included. Each retry is logged at INFO and each give-up
    at WARNING through the ``dynaorm`` logger.

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
    deadline: float | None = attrs.field(
        default=DEFAULT_DEADLINE, validator=attrs.validators.optional(_positive)
    )
    jitter: bool = True

    def describe(self) -> str:
        """The policy's limits in words, for messages.

        Example:
            >>> RetryPolicy(max_attempts=3, deadline=2.5).describe()
            'at most 3 attempts per request within 2.5 s'
        """
        text = f"at most {self.max_attempts} attempts per request"
        return text if self.deadline is None else f"{text} within {self.deadline:g} s"

    def backoff(self, retry: int) -> float:
        """The sleep before retry number ``retry`` (1-based)."""
        bound = min(self.cap, self.base_delay * (2 ** min(retry - 1, 62)))
        return random.uniform(0.0, bound) if self.jitter else bound

    def delays(self) -> Iterator[float]:
        """Yield one sleep per allowed retry, honouring the deadline.

        The deadline counts from this call (make it just before the first attempt). The
        caller sleeps for each value before retrying; when the iterator ends, give up.
        """
        return self._delays(time.monotonic())

    def _delays(self, started: float) -> Iterator[float]:
        for retry in range(1, self.max_attempts):
            delay = self.backoff(retry)
            if self.deadline is not None:
                remaining = self.deadline - (time.monotonic() - started) - LEAST_ATTEMPT_TIME
                if remaining <= 0:
                    return
                delay = min(delay, remaining)
            yield delay


class Retrier:
    """One retry budget under a policy, shared by a request and all of its re-sends.

    A batch request re-sent because the server throttled it and re-sent again for the items it
    left unprocessed spends the same budget. Every retry is logged at INFO and every give-up
    at WARNING through the ``dynaorm`` logger, and counted here.

    Args:
        policy: The policy whose attempts, delays and deadline apply.
        what: Names the request in log messages, e.g. ``"BatchWriteItem on 'shop'"``.
        stop: When set (by another thread), no further retry starts and a sleep ends early.
        started: The ``time.monotonic()`` the policy's deadline counts from (default: now);
            a budget made after a first attempt failed passes the time from before it.

    Attributes:
        started: The ``time.monotonic()`` the deadline counts from.
        requests: Requests sent under this budget (every attempt).
        retries: Retries started.
        throttles: Attempts refused with a throttling error.
        interrupted_sleeping: An exception (Ctrl-C, a cancellation) ended a sleep before a
            retry, so no attempt was out when it came; the caller resets it.

    Example:
        >>> retrier = Retrier(RetryPolicy(max_attempts=2, base_delay=0.001), "GetItem")
        >>> retrier.retry("throttled"), retrier.retry("throttled")
        (True, False)
    """

    def __init__(
        self,
        policy: RetryPolicy,
        what: str,
        *,
        stop: threading.Event | None = None,
        started: float | None = None,
    ) -> None:
        self.policy = policy
        self.what = what
        self.stop = stop
        self.requests = 0
        self.retries = 0
        self.throttles = 0
        self.interrupted_sleeping = False
        self.started = time.monotonic() if started is None else started
        self._delays = policy._delays(self.started)

    def time_left(self) -> float | None:
        """Seconds until the policy's deadline (negative once it passed); ``None`` without one."""
        deadline = self.policy.deadline
        return None if deadline is None else deadline - (time.monotonic() - self.started)

    @property
    def stopped(self) -> bool:
        """True once the stop event is set."""
        return self.stop is not None and self.stop.is_set()

    def retry(self, reason: str) -> bool:
        """Sleep before the next retry and return True, or log the give-up and return False.

        Args:
            reason: Why the last attempt did not complete, for the log.
        """
        delay = self.next_delay(reason)
        return delay is not None and self.pause(delay, reason)

    def pause(self, delay: float, reason: str) -> bool:
        """Sleep ``delay`` (from :meth:`next_delay`) and count the retry; return False (the
        give-up logged) when the stop event is set meanwhile, which ends the sleep early."""
        try:
            if self.stop is not None:
                if self.stop.wait(delay):
                    self._stopped_during(reason)
                    return False
            else:
                time.sleep(delay)
        except BaseException:
            self.interrupted_sleeping = True
            raise
        self.retries += 1
        return True

    async def apause(self, delay: float, reason: str) -> bool:
        """:meth:`pause` with ``await asyncio.sleep``: no thread; the stop event is looked
        at every few milliseconds, so a stop ends the sleep early here too."""
        stop = self.stop
        try:
            if stop is None:
                await asyncio.sleep(delay)
            else:
                end = time.monotonic() + delay
                while not stop.is_set():
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    await asyncio.sleep(min(left, STOP_POLL))
                if stop.is_set():
                    self._stopped_during(reason)
                    return False
        except BaseException:  # cancelled (or Ctrl-C) while asleep: no request was out
            self.interrupted_sleeping = True
            raise
        self.retries += 1
        return True

    def _stopped_during(self, reason: str) -> None:
        logger.warning(
            "%s: giving up after %d attempt(s) (stopped): %s", self.what, self.retries + 1, reason
        )

    def next_delay(self, reason: str) -> float | None:
        """The sleep before the next retry (logged), or ``None`` (the give-up logged): the
        decision of :meth:`retry` without its sleep, for a caller that sleeps its own way
        (``await asyncio.sleep(delay)``, then counts the retry with ``retries += 1``).

        Args:
            reason: Why the last attempt did not complete, for the log.
        """
        attempts = self.retries + 1
        delay = None if self.stopped else next(self._delays, None)
        if delay is None:
            why = "stopped" if self.stopped else "retry policy exhausted"
            logger.warning(
                "%s: giving up after %d attempt(s) (%s): %s", self.what, attempts, why, reason
            )
            return None
        logger.info("%s: attempt %d: %s; retrying in %.3fs", self.what, attempts, reason, delay)
        return delay


DEFAULT_POLICY = RetryPolicy()


# botocore's retry modes -> the policy shape each stands for. "legacy" is botocore's own
# DynamoDB default (10 attempts, 50 ms doubling), which dynaorm's default policy follows;
# "standard" and "adaptive" back off from 1 s up to 20 s with full jitter over 3 attempts.
# (The client-side rate limiter of "adaptive" is not reproduced: throttles are retried.)
_STANDARD = RetryPolicy(max_attempts=3, base_delay=1.0, cap=20.0)
RETRY_MODES: dict[str, RetryPolicy] = {
    "legacy": DEFAULT_POLICY,
    "standard": _STANDARD,
    "adaptive": _STANDARD,
}


def policy_from_aws(max_attempts: object, retry_mode: object) -> RetryPolicy:
    """The retry policy the standard AWS retry settings describe.

    ``retry_mode`` (``AWS_RETRY_MODE`` or ``retry_mode`` in the shared config file) picks the
    shape, ``max_attempts`` (``AWS_MAX_ATTEMPTS`` or ``max_attempts``) the attempts in all,
    the first included; with neither, dynaorm's :data:`DEFAULT_POLICY`. The deadline is
    dynaorm's (20 s) whatever the mode.

    Args:
        max_attempts: The attempts as text or a number, or ``None``.
        retry_mode: ``"legacy"``, ``"standard"``, ``"adaptive"``, or ``None``.

    Raises:
        ConfigurationError: A value is not a positive whole number or a known mode.

    Example:
        >>> policy_from_aws("4", "standard")
        RetryPolicy(max_attempts=4, base_delay=1.0, cap=20.0, deadline=20.0, jitter=True)
        >>> policy_from_aws(None, None) is DEFAULT_POLICY
        True
    """
    if retry_mode is None or retry_mode == "":
        policy = DEFAULT_POLICY
    else:
        mode = str(retry_mode).strip().lower()
        if mode not in RETRY_MODES:
            raise ConfigurationError(
                f"retry_mode {retry_mode!r} (AWS_RETRY_MODE or the shared config file) is not "
                f"one of {', '.join(sorted(RETRY_MODES))}"
            )
        policy = RETRY_MODES[mode]
    if max_attempts is None or max_attempts == "":
        return policy
    try:
        attempts = int(str(max_attempts).strip())
    except ValueError:
        attempts = 0
    if attempts < 1:
        raise ConfigurationError(
            f"max_attempts {max_attempts!r} (AWS_MAX_ATTEMPTS or the shared config file) must "
            "be a whole number of at least 1"
        )
    if attempts == policy.max_attempts:
        return policy
    return attrs.evolve(policy, max_attempts=attempts)
