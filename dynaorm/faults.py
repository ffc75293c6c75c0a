"""Deterministic fault injection for tests, through the transports' hook point.

Local servers never throttle, never fail with a 5xx and never hand back ``UnprocessedItems``, so
code that must survive those cannot be exercised against them. A :class:`FaultInjector` hooks
into the hook point both transports call (:mod:`dynaorm.wire.hooks`; no library code path
changes) and, per call:

* answers with a throttling error (HTTP 400) or ``InternalServerError`` (HTTP 500) without
  reaching the server;
* fails to connect (botocore's ``EndpointConnectionError``): the request never left, so it is
  safe to send again whatever it does;
* holds back part of a ``BatchWriteItem``/``BatchGetItem`` request and reports the held-back
  items or keys as ``UnprocessedItems``/``UnprocessedKeys``, as DynamoDB does under load;
* lets the request reach the server, then loses the response (a broken connection), so the
  write is applied but the caller cannot know it;
* times out reading the response (botocore's ``ReadTimeoutError``) after the request was sent:
  a seeded coin decides whether the server got it, so the write may or may not have happened;
* delays the request by a seeded time before it is sent (latency).

Every decision is drawn from a random generator seeded with ``seed``, the operation, the request
(with the table's name left out) and how often that exact request was seen before. The same seed
and the same requests therefore give the same faults, run after run, whatever order threads send
them in.

Example::

    from dynaorm.faults import FaultInjector

    with FaultInjector(seed=7, throttle=0.1, unprocessed=0.3).install(shop) as faults:
        with shop.batch_write(policy=RetryPolicy(max_attempts=20, base_delay=0.001)) as batch:
            for order in orders:
                batch.put(order)
    print(faults.stats)   # FaultStats(calls=..., throttled=..., unprocessed=..., ...)

In a test, the ``fault_injector`` fixture of :mod:`dynaorm.testing` installs one and removes it
when the test ends.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from dynaorm.api.table import Table
from dynaorm.base.errors import ValidationError
from dynaorm.base.typed_json import to_json
from dynaorm.wire.fault_plan import (
    BATCH_MEMBERS,
    Plan,
    add_held_back,
    canned_error,
    everything_unprocessed,
    hold_back,
    tables_of,
)
from dynaorm.wire.hooks import Answer, Attempt, hooks_for

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["FaultInjector", "FaultStats"]

_CONTEXT_KEY = "dynaorm.fault"


@attrs.frozen
class FaultStats:
    """What an injector did so far.

    Attributes:
        calls: Calls that matched the injector's operations and tables.
        faults: Calls that got at least one fault (latency is not a fault).
        throttled: Calls answered with a throttling error.
        server_errors: Calls answered with ``InternalServerError``.
        connection_errors: Calls that failed to connect (never sent).
        read_timeouts: Calls that timed out reading the response.
        read_timeouts_applied: Those of ``read_timeouts`` that the server had received.
        lost_responses: Calls applied by the server whose response was then lost.
        unprocessed: Items and keys handed back as unprocessed, over all calls.
        unprocessed_calls: Calls that handed back at least one unprocessed item or key.
        delayed: Calls delayed before they were sent.
        delay: Seconds of delay, over all calls.
    """

    calls: int = 0
    faults: int = 0
    throttled: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    read_timeouts: int = 0
    read_timeouts_applied: int = 0
    lost_responses: int = 0
    unprocessed: int = 0
    unprocessed_calls: int = 0
    delayed: int = 0
    delay: float = 0.0


_REFUSALS = ("throttle", "server_error", "connection_error")


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValidationError(f"FaultInjector: {name} must be between 0 and 1, got {value!r}")
    return value


class FaultInjector:
    """Seeded, deterministic faults for DynamoDB calls, through the transports' hook point.

    Args:
        seed: Seeds every decision; the same seed and requests give the same faults.
        throttle: Fraction of calls refused with ``throttle_code`` (HTTP 400).
        server_error: Fraction of calls refused with ``InternalServerError`` (HTTP 500).
        connection_error: Fraction of calls that fail to connect (``EndpointConnectionError``);
            the server never sees them.
        unprocessed: Fraction of each batch request's items (keys) held back and reported as
            unprocessed. Rounded stochastically, so a 1-item request is held back with this
            probability; ``1.0`` holds back everything.
        lost_response: Fraction of calls the server applies but whose response is replaced by
            a broken connection (botocore's ``ConnectionClosedError``).
        read_timeout: Fraction of calls whose response times out (``ReadTimeoutError``); half
            of them (a seeded coin) reached the server and were applied, half did not.
        latency: Fraction of calls delayed before they are sent.
        max_delay: Seconds; a delayed call waits a seeded time in ``[0, max_delay]``.
        operations: Operation names to affect (e.g. ``{"BatchWriteItem"}``); ``None``: all.
        limit: At most this many calls get a fault; later calls pass untouched (latency is
            not a fault and is not limited).
        throttle_code: The error code throttled calls carry.

    Raises:
        ValidationError: A fraction is outside ``[0, 1]``, ``throttle + server_error +
            connection_error > 1``, ``lost_response + read_timeout > 1``, or ``max_delay``
            is negative.

    Example:
        >>> injector = FaultInjector(seed=1, throttle=0.1, unprocessed=0.3)
        >>> injector.stats.calls
        0
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        throttle: float = 0.0,
        server_error: float = 0.0,
        connection_error: float = 0.0,
        unprocessed: float = 0.0,
        lost_response: float = 0.0,
        read_timeout: float = 0.0,
        latency: float = 0.0,
        max_delay: float = 0.05,
        operations: Collection[str] | None = None,
        limit: int | None = None,
        throttle_code: str = "ProvisionedThroughputExceededException",
    ) -> None:
        self.seed = seed
        self.throttle = _fraction("throttle", throttle)
        self.server_error = _fraction("server_error", server_error)
        self.connection_error = _fraction("connection_error", connection_error)
        self.unprocessed = _fraction("unprocessed", unprocessed)
        self.lost_response = _fraction("lost_response", lost_response)
        self.read_timeout = _fraction("read_timeout", read_timeout)
        self.latency = _fraction("latency", latency)
        if throttle + server_error + connection_error > 1.0:
            raise ValidationError(
                "FaultInjector: throttle + server_error + connection_error must not exceed 1"
            )
        if lost_response + read_timeout > 1.0:
            raise ValidationError("FaultInjector: lost_response + read_timeout must not exceed 1")
        if max_delay < 0:
            raise ValidationError(f"FaultInjector: max_delay must not be negative: {max_delay!r}")
        self.max_delay = max_delay
        self.operations = frozenset(operations) if operations is not None else None
        self.limit = limit
        self.throttle_code = throttle_code
        self._tables: frozenset[str] | None = None
        self._client: BaseClient | None = None
        self._lock = threading.Lock()
        self._seen: dict[bytes, int] = {}
        self._faults = 0
        self._stats = FaultStats()

    # -- installation ----------------------------------------------------------------------

    def install(self, target: Table | BaseClient, *, tables: Collection[str] | None = None) -> Self:
        """Register the hooks on a table's client (affecting only that table's requests) or on
        a botocore client (affecting requests for ``tables``, or all when ``None``).

        Install after the table exists under its final name (``table_factory`` renames it).

        Returns:
            The injector, usable as a context manager that uninstalls it.

        Raises:
            ValidationError: The injector is installed already.
        """
        if self._client is not None:
            raise ValidationError("FaultInjector is installed already; uninstall() it first")
        client: BaseClient
        if isinstance(target, Table):
            client = target.transport.client
            self._tables = frozenset({target.name, *(tables or ())})
        else:
            client = target
            self._tables = frozenset(tables) if tables is not None else None
        hooks = hooks_for(client)
        hooks.register("before-send", self._respond)
        hooks.register("after-call", self._finish)
        self._client = client
        return self

    def uninstall(self) -> None:
        """Remove the hooks (no-op when not installed)."""
        client, self._client = self._client, None
        if client is None:
            return
        hooks = hooks_for(client)
        hooks.unregister("before-send", self._respond)
        hooks.unregister("after-call", self._finish)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    @property
    def stats(self) -> FaultStats:
        """A snapshot of what was injected so far."""
        with self._lock:
            return self._stats

    def _count(self, **increments: float) -> None:
        self._stats = attrs.evolve(
            self._stats,
            **{name: getattr(self._stats, name) + n for name, n in increments.items()},
        )

    # -- hooks -----------------------------------------------------------------------------

    def _applies(self, operation: str, params: Mapping[str, Any]) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        return self._tables is None or bool(self._tables & tables_of(params))

    def _random(self, operation: str, params: Mapping[str, Any]) -> random.Random:
        text = to_json([self.seed, operation, params], sort_keys=True)
        # Tests give tables random names; leaving them out makes runs repeat each other.
        for name in sorted(self._tables or (), key=len, reverse=True):
            text = text.replace(to_json(name), '"<table>"')
        digest = hashlib.sha256(text.encode()).digest()
        with self._lock:
            seen = self._seen.get(digest, 0)
            self._seen[digest] = seen + 1
        return random.Random(digest + seen.to_bytes(8, "big"))

    def _plan(self, attempt: Attempt) -> Plan | None:
        operation, params = attempt.operation, attempt.params
        if not self._applies(operation, params):
            return None
        rng = self._random(operation, params)
        plan = Plan()
        # Fixed draws first, so one kind of fault does not shift the others' decisions.
        refusal, fate, coin, slow, delay = (rng.random() for _ in range(5))
        edge = 0.0
        for kind, fraction in zip(
            _REFUSALS, (self.throttle, self.server_error, self.connection_error), strict=True
        ):
            edge += fraction
            if refusal < edge:
                plan.kind = kind
                break
        if plan.kind == "pass":
            if fate < self.lost_response:
                plan.after = "lost"
            elif fate < self.lost_response + self.read_timeout:
                plan.after = "timeout"
                if coin < 0.5:
                    plan.kind = "unsent_timeout"
        if plan.kind == "pass" and self.unprocessed and operation in BATCH_MEMBERS:
            hold_back(operation, params["RequestItems"], rng, self.unprocessed, self._tables, plan)
        if slow < self.latency:
            plan.delay = delay * self.max_delay
        with self._lock:
            self._count(calls=1)
            if plan.faulty and self.limit is not None and self._faults >= self.limit:
                plan = Plan(delay=plan.delay)
            if plan.faulty:
                self._faults += 1
            self._record(plan)
        if plan.held_back and plan.kind == "pass":
            params["RequestItems"] = plan.kept
        attempt.context[_CONTEXT_KEY] = plan
        return plan

    def _record(self, plan: Plan) -> None:
        count = plan.held_count()
        timeout = plan.after == "timeout"
        self._count(
            faults=int(plan.faulty),
            throttled=int(plan.kind == "throttle"),
            server_errors=int(plan.kind == "server_error"),
            connection_errors=int(plan.kind == "connection_error"),
            read_timeouts=int(timeout),
            read_timeouts_applied=int(timeout and plan.kind == "pass"),
            lost_responses=int(plan.after == "lost"),
            unprocessed=count,
            unprocessed_calls=int(count > 0),
            delayed=int(plan.delay > 0),
            delay=plan.delay,
        )

    def _respond(self, attempt: Attempt) -> Answer | None:
        plan = self._plan(attempt)
        if plan is None:
            return None
        if plan.delay:  # waited by the transport: time.sleep, or asyncio.sleep when async
            attempt.delay += plan.delay
        url = attempt.url
        if plan.kind == "pass":
            return None
        if plan.kind == "connection_error":
            raise EndpointConnectionError(endpoint_url=url)
        if plan.kind == "unsent_timeout":
            raise ReadTimeoutError(endpoint_url=url)
        if plan.kind == "throttle":
            error_type = f"com.amazonaws.dynamodb.v20120810#{self.throttle_code}"
            return canned_error(400, error_type, "Rate exceeded (injected by dynaorm.faults)")
        if plan.kind == "server_error":
            error_type = "com.amazon.coral.service#InternalServerError"
            return canned_error(
                500, error_type, "Internal server error (injected by dynaorm.faults)"
            )
        return everything_unprocessed(plan.everything)

    def _finish(self, attempt: Attempt, parsed: dict[str, Any]) -> None:
        plan = attempt.context.get(_CONTEXT_KEY)
        if plan is None:
            return
        if plan.held_back and plan.kind == "pass" and "Error" not in parsed:
            add_held_back(attempt.operation, parsed, plan.held_back)
        if plan.after == "lost":
            raise ConnectionClosedError(endpoint_url=attempt.url)
        if plan.after == "timeout":
            raise ReadTimeoutError(endpoint_url=attempt.url)
