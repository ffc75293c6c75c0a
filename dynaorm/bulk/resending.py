"""One batch request and its re-sends, decided without I/O: what to send next, what a response
(or a failure) means for the batch's ledger and counters, how long to back off, and when to
give up. The sync driver (:func:`send_until_done`) and the async one
(:func:`asend_until_done`) run the same :class:`Resend`, each sending and sleeping its own
way, as :class:`~dynaorm.read.progress.ReadProgress` does for paged reads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from dynaorm.base.errors import DynaormError
from dynaorm.wire.translate import error_code, is_retryable, maybe_applied

if TYPE_CHECKING:
    from dynaorm.bulk.batching import Meter, PhysicalKey
    from dynaorm.wire.async_transport import AsyncTransport
    from dynaorm.wire.retry import Retrier
    from dynaorm.wire.transport import Transport

__all__ = ["Gate", "Outcome", "Resend", "StopGate", "asend_until_done", "send_until_done"]

T = TypeVar("T")


@attrs.define
class Outcome(Generic[T]):
    """How one request (with its re-sends) ended.

    Attributes:
        left: What was never processed, in request order.
        error: The error that ended it, if one did (``None`` when the policy ran out on
            unprocessed items, when the batch was halted, or when everything was processed).
    """

    left: list[T] = attrs.Factory(list)
    error: DynaormError | None = None

    @property
    def gave_up(self) -> bool:
        """True when the retries ran out (or were stopped) rather than a hard error."""
        return self.error is None or is_retryable(
            self.error.__cause__ or self.error, idempotent=True
        )


class Gate(Protocol[T]):
    """Told what happens to each request, and asked before each send (a batch's ledger)."""

    def begin(self, entries: list[T]) -> bool:
        """Return False to send nothing more (the batch was halted)."""

    def answered(self, applied: list[T], left: list[T]) -> None:
        """A response processed ``applied`` and handed ``left`` back."""

    def unanswered(self, entries: list[T], *, maybe_applied: bool) -> None:
        """The request failed; the server may have applied it when ``maybe_applied``."""


class StopGate:
    """A :class:`Gate` that only refuses sends once ``stop`` is set (for reads).

    Args:
        stop: The batch's stop event.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def begin(self, entries: list[Any]) -> bool:
        """False once ``stop`` is set."""
        return not self.stop.is_set()

    def answered(self, applied: list[Any], left: list[Any]) -> None:
        """Nothing to record."""

    def unanswered(self, entries: list[Any], *, maybe_applied: bool) -> None:
        """Nothing to record."""


class Resend(Generic[T]):
    """Where one request of a batch stands: send :meth:`next_request`, hand its response to
    :meth:`answered` (or its error to :meth:`failed`); a number back is the backoff to sleep
    before the next request (:meth:`stopped` when the sleep was cut short), ``None`` means it
    is over and :attr:`outcome` says how.

    The transport retries only what certainly was not applied (throttling, failed
    connections); a request that may have been applied (a read timeout, a broken connection,
    a server fault) is re-sent here, under the same budget, after ``gate`` was told, so a
    batch knows which writes may have been applied whatever ends it.

    Args:
        pending: The entries of the request, by key.
        build: Makes the request for the entries still pending.
        receive: Takes a response and returns the keys it left unprocessed.
        retrier: The budget of the request and all of its re-sends.
        meter: The batch's counters (its lock makes an answer and its report one step).
        noun: ``"item"`` or ``"key"``, for log messages.
        gate: Asked before each send and told how each ended (before the progress report).

    Example:
        >>> from dynaorm.bulk.batching import Meter
        >>> from dynaorm.wire.retry import Retrier, RetryPolicy
        >>> resend = Resend({(("PK", "a"),): "a"}, build=lambda e: {"Keys": e},
        ...                 receive=lambda r: [], retrier=Retrier(RetryPolicy(), "demo"),
        ...                 meter=Meter("batch_get", None), noun="key",
        ...                 gate=StopGate(threading.Event()))
        >>> resend.next_request()
        {'Keys': ['a']}
        >>> resend.answered({}) is None, resend.outcome
        (True, Outcome(left=[], error=None))
    """

    def __init__(
        self,
        pending: dict[PhysicalKey, T],
        *,
        build: Callable[[list[T]], dict[str, Any]],
        receive: Callable[[dict[str, Any]], list[PhysicalKey]],
        retrier: Retrier,
        meter: Meter,
        noun: str,
        gate: Gate[T],
    ) -> None:
        self.retrier = retrier
        self.outcome: Outcome[T] = Outcome()
        self.reason = ""
        self._pending = pending
        self._build = build
        self._receive = receive
        self._meter = meter
        self._noun = noun
        self._gate = gate
        self._entries: list[T] = []
        self._error: DynaormError | None = None

    def next_request(self) -> dict[str, Any] | None:
        """The request to send now, the gate told; ``None`` when nothing is to be sent."""
        if not self._pending:
            self.outcome = Outcome()
            return None
        entries = list(self._pending.values())
        if not self._gate.begin(entries):
            self.outcome = Outcome(entries)
            return None
        self._entries, self._error = entries, None
        return self._build(entries)

    def answered(self, response: dict[str, Any]) -> float | None:
        """Record ``response``; the backoff before re-sending what it left, or ``None``."""
        left = set(self._receive(response))
        pending = self._pending
        done = [entry for key, entry in pending.items() if key not in left]
        self._pending = pending = {key: entry for key, entry in pending.items() if key in left}
        meter = self._meter
        with meter.lock:  # another request's answer may not come between the two
            self._gate.answered(done, list(pending.values()))
            meter.absorb(self.retrier, done=len(done), returned=len(left), response=response)
        if not pending:
            self.outcome = Outcome()
            return None
        return self._backoff(f"{len(pending)} unprocessed {self._noun}(s)")

    def failed(self, exc: DynaormError) -> float | None:
        """Record that the request failed with ``exc``; the backoff before re-sending it
        (it may have been applied, and may be repeated), or ``None``."""
        cause = exc.__cause__ or exc
        maybe = maybe_applied(exc)
        meter = self._meter
        with meter.lock:  # the report and the result agree: one step for both
            self._gate.unanswered(self._entries, maybe_applied=maybe)
            meter.absorb(self.retrier)
        self._error = exc
        if maybe and is_retryable(cause, idempotent=True):
            return self._backoff(error_code(cause) or type(cause).__name__)
        self.outcome = Outcome(self._entries, exc)
        return None

    def sending(self) -> None:
        """A request is about to go out (the budget's interrupted-sleep mark cleared)."""
        self.retrier.interrupted_sleeping = False

    def interrupted(self) -> None:
        """Something (Ctrl-C, a cancellation) interrupted the send: if it came while the
        transport slept before re-sending a refused attempt (a batch request is re-sent by
        the transport only when it certainly was not applied), no attempt was out and the
        entries were not applied; otherwise they stay SENT (unknown)."""
        if self.retrier.interrupted_sleeping:
            with self._meter.lock:
                self._gate.unanswered(self._entries, maybe_applied=False)

    def _backoff(self, reason: str) -> float | None:
        self.reason = reason
        delay = self.retrier.next_delay(reason)
        if delay is None:
            self.stopped()
        return delay

    def stopped(self) -> None:
        """Give up: the budget ran out or the batch was stopped during the backoff."""
        self.outcome = Outcome(list(self._pending.values()), self._error)

    def close(self) -> None:
        """Count what the budget counted since the last report (an interrupted request
        still counts), however the request ended."""
        self._meter.forget(self.retrier)


def send_until_done(transport: Transport, operation: str, resend: Resend[T]) -> Outcome[T]:
    """Run ``resend`` to its end with blocking requests and sleeps (a stop event set by
    another thread cuts a sleep short)."""
    try:
        request = resend.next_request()
        while request is not None:
            resend.sending()
            try:
                response = transport.call(
                    operation, request, idempotent=False, retrier=resend.retrier
                )
            except DynaormError as exc:
                delay = resend.failed(exc)
            except BaseException:
                resend.interrupted()
                raise
            else:
                delay = resend.answered(response)
            if delay is None:
                break
            if not resend.retrier.pause(delay, resend.reason):
                resend.stopped()
                break
            request = resend.next_request()
        return resend.outcome
    finally:
        resend.close()


async def asend_until_done(
    transport: AsyncTransport, operation: str, resend: Resend[T]
) -> Outcome[T]:
    """:func:`send_until_done` with ``await``: the same decisions, requests sent through the
    async transport, backoffs slept with ``asyncio.sleep``. Cancelling it stops at once; a
    request out at that moment gets no answer (its writes: unknown)."""
    try:
        request = resend.next_request()
        while request is not None:
            resend.sending()
            try:
                response = await transport.call(
                    operation, request, idempotent=False, retrier=resend.retrier
                )
            except DynaormError as exc:
                delay = resend.failed(exc)
            except BaseException:
                resend.interrupted()
                raise
            else:
                delay = resend.answered(response)
            if delay is None:
                break
            if not await resend.retrier.apause(delay, resend.reason):
                resend.stopped()
                break
            request = resend.next_request()
        return resend.outcome
    finally:
        resend.close()
