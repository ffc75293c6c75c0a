"""The state of a batch write that its sync and async senders share: the buffer of writes,
the ledger (:mod:`dynaorm.bulk.ledger`), the counters, the request of a chunk, what a
request's outcome means for the batch, and the error and note a batch ends with.

Only how requests are sent differs: threads in :class:`~dynaorm.bulk.batch_sender.
BatchSender`, asyncio tasks in :class:`~dynaorm.bulk.async_batch_write.AsyncBatchWriter`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import BatchIncomplete, DynaormError, ValidationError
from dynaorm.base.limits import BATCH_WRITE_LIMIT
from dynaorm.bulk.batching import (
    BatchWriteResult,
    Meter,
    PhysicalKey,
    ProgressCallback,
    physical_key,
)
from dynaorm.bulk.ledger import Entry, Ledger
from dynaorm.bulk.resending import Outcome, Resend
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import Retrier, RetryPolicy
from dynaorm.write.prepare import NO_CHANGES, InstanceChanges

if TYPE_CHECKING:
    from dynaorm.api.table import Table


__all__ = ["BatchCore", "BatchWrite"]

logger = logging.getLogger("dynaorm")


@attrs.frozen
class BatchWrite:
    """One write handed to a batch.

    Attributes:
        key: The item's primary key.
        target: What ``result.unprocessed`` lists for it: the entity, the :class:`ItemKey`
            of a delete, or a raw item's caller-given tag.
        request: Its member of the ``BatchWriteItem`` request.
        changes: What the entity gets once the server applied the write (a put's
            timestamps).
    """

    key: PhysicalKey
    target: Any
    request: dict[str, Any]
    changes: InstanceChanges = NO_CHANGES

    @property
    def is_put(self) -> bool:
        """True for a ``PutRequest``."""
        return "PutRequest" in self.request


class _Landing:
    """The batch's ledger as the gate of its requests; an entity whose put the server applied
    gets its timestamps then (and only then)."""

    def __init__(self, ledger: Ledger[BatchWrite]) -> None:
        self.ledger = ledger

    def begin(self, entries: list[Entry[BatchWrite]]) -> bool:
        return self.ledger.begin(entries)

    def answered(self, applied: list[Entry[BatchWrite]], left: list[Entry[BatchWrite]]) -> None:
        self.ledger.answered(applied, left)
        for entry in applied:
            write = entry.write
            if write.changes is not NO_CHANGES:
                write.changes.apply(write.target)

    def unanswered(self, entries: list[Entry[BatchWrite]], *, maybe_applied: bool) -> None:
        self.ledger.unanswered(entries, maybe_applied=maybe_applied)


class BatchCore:
    """A batch write's state and decisions, without a way of sending (see the module docs).

    Args:
        table: The table written.
        policy: Retry policy; the table's ``retry_policy`` when ``None``.
        progress: Called with a :class:`~dynaorm.BatchProgress` after every request.
    """

    def __init__(
        self,
        table: Table,
        *,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.table = table
        # Every request goes to the table as it is now (its override, if any), or as it is
        # when the block is entered, whichever context a put or a worker runs in.
        self._bound = bind(table)
        self.policy = policy or table.retry_policy
        self._meter = Meter("batch_write", progress)
        # The one owner of every write's state; it shares the counters' lock.
        self._ledger: Ledger[BatchWrite] = Ledger(self._meter.lock)
        self._buffer: dict[PhysicalKey, Entry[BatchWrite]] = {}
        self._closed = False
        # What ended the batch: an error to raise as itself, or (the policy ran out) the
        # last error seen; set once, by the first failure.
        self._error: BaseException | None = None
        self._cause: DynaormError | None = None

    @property
    def result(self) -> BatchWriteResult:
        """What the batch did so far (a snapshot); after it ended, how every write ended."""
        meter, ledger = self._meter, self._ledger
        with meter.lock:
            not_applied, unknown = ledger.split()
            return BatchWriteResult(
                puts=ledger.puts,
                deletes=ledger.applied - ledger.puts,
                requests=meter.requests,
                retries=meter.retries,
                throttles=meter.throttles,
                unprocessed_returns=meter.returned,
                consumed_capacity=meter.capacity,
                superseded=ledger.superseded,
                unprocessed=tuple(w.target for w in not_applied),
                handed_in=ledger.handed_in,
                applied=ledger.applied,
                unknown=tuple(w.target for w in unknown),
            )

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(
                f"this batch_write on {self._bound.name!r} is finished; start a new one"
            )

    def _accept(self, write: BatchWrite) -> bool:
        """Buffer ``write`` (replacing a buffered write of its key); True when a request's
        worth of keys is buffered."""
        with self._meter.lock:
            replaced = self._buffer.get(write.key)
            self._buffer[write.key] = self._ledger.add(write, replaces=replaced)
            if replaced is None:
                self._meter.total += 1
        return len(self._buffer) >= BATCH_WRITE_LIMIT

    def _take(self) -> list[Entry[BatchWrite]]:
        """The next request's writes, out of the buffer (PENDING in the ledger until sent)."""
        keys = list(self._buffer)[:BATCH_WRITE_LIMIT]
        return [self._buffer.pop(key) for key in keys]

    def _resend(self, chunk: list[Entry[BatchWrite]]) -> Resend[Entry[BatchWrite]]:
        """The request of ``chunk`` with its re-sends, under one budget of the policy."""
        table, name = self.table, self._bound.name

        def build(entries: list[Entry[BatchWrite]]) -> dict[str, Any]:
            return {
                "RequestItems": {name: [e.write.request for e in entries]},
                "ReturnConsumedCapacity": "TOTAL",
            }

        def receive(response: dict[str, Any]) -> list[PhysicalKey]:
            entries = response.get("UnprocessedItems", {}).get(name, [])
            return [
                physical_key(
                    table,
                    e["PutRequest"]["Item"] if "PutRequest" in e else e["DeleteRequest"]["Key"],
                )
                for e in entries
            ]

        retrier = Retrier(self.policy, f"BatchWriteItem on {name!r}", stop=self._ledger.stop)
        return Resend(
            {e.write.key: e for e in chunk},
            build=build,
            receive=receive,
            retrier=retrier,
            meter=self._meter,
            noun="item",
            gate=_Landing(self._ledger),
        )

    def _settle(self, outcome: Outcome[Entry[BatchWrite]]) -> None:
        """What a request's outcome means for the batch: an error retrying cannot fix ends
        it as itself; writes left (the policy ran out) end it with ``BatchIncomplete``."""
        if outcome.error is not None and not outcome.gave_up:
            self._fail(outcome.error)
        elif outcome.left or outcome.error is not None:
            self._fail(None, outcome.error)  # the other requests stop retrying at once

    def _fail(self, error: BaseException | None, cause: DynaormError | None = None) -> None:
        """Record what ends the batch (the first failure wins) and halt the ledger."""
        with self._meter.lock:
            if not self._ledger.halted:
                self._error = error
                self._cause = cause
            self._ledger.halt()

    def _failure(self) -> BaseException:
        """The exception a failed batch raises: its error, or ``BatchIncomplete`` with the
        accounting so far."""
        if self._error is not None:
            return self._error
        result = self.result
        error = BatchIncomplete(
            self._incomplete_message(result),
            unprocessed=result.unprocessed,
            unknown=result.unknown,
            applied=result.applied,
            result=result,
        )
        error.__cause__ = self._cause
        return error

    def _incomplete_message(self, result: BatchWriteResult) -> str:
        return (
            f"batch_write on {self._bound.name!r}: {len(result.unprocessed)} write(s) were not "
            f"applied and {len(result.unknown)} may or may not have been ({result.applied} "
            f"applied) when the retry policy ran out ({self.policy.describe()}); "
            "nothing more was sent. They are in .unprocessed and .unknown (entities, "
            "ItemKeys for deletes)."
        )

    def _refresh(self, error: BatchIncomplete) -> None:
        """Bring a ``BatchIncomplete`` raised while requests were still finishing up to the
        final accounting (the async batch raises from ``put`` before it can wait for them)."""
        result = self.result
        error.args = (self._incomplete_message(result),)
        error.unprocessed = list(result.unprocessed)
        error.unknown = list(result.unknown)
        error.applied = result.applied
        error.result = result

    def _stop(self) -> bool:
        """Send nothing more: halt the ledger and drop the buffer (its writes stay PENDING:
        not applied). False when the batch had ended already."""
        if self._closed:
            return False
        self._closed = True
        self._ledger.halt()
        self._buffer.clear()
        return True

    def _note(self, exc: BaseException | None) -> None:
        """Log the accounting of a batch ended by ``exc`` and add it to ``exc`` as a note
        (a ``BatchIncomplete`` carries it already)."""
        if exc is None or isinstance(exc, BatchIncomplete):
            return
        result = self.result
        summary = (
            f"batch_write on {self._bound.name!r} stopped by {type(exc).__name__}: "
            f"{result.applied} write(s) applied, {len(result.unprocessed)} not applied "
            f"(batch.result.unprocessed), {len(result.unknown)} of unknown outcome "
            "(batch.result.unknown)"
        )
        if summary not in getattr(exc, "__notes__", ()):
            logger.warning("%s", summary)
            exc.add_note(summary)
