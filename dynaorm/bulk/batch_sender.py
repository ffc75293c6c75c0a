"""Sending a batch write's requests: chunks of 25 on one thread or a pool of workers, the
order of writes of one key, retries, and how a batch ends (see :mod:`dynaorm.bulk.ledger`).

:class:`BatchSender` is the machinery under the public
:class:`~dynaorm.bulk.batch_write.BatchWriter`, which adds the writes themselves.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import BatchIncomplete, DynaormError, ValidationError
from dynaorm.base.limits import BATCH_WRITE_LIMIT
from dynaorm.base.threads import WorkerPool
from dynaorm.bulk.batching import (
    BatchWriteResult,
    Meter,
    PhysicalKey,
    ProgressCallback,
    physical_key,
    send_until_done,
)
from dynaorm.bulk.ledger import Entry, Ledger
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import Retrier, RetryPolicy
from dynaorm.write.prepare import NO_CHANGES, InstanceChanges

if TYPE_CHECKING:
    from dynaorm.api.table import Table


__all__ = ["BatchSender", "BatchWrite"]

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


class BatchSender:
    """The state of a batch write and the sending of its requests.

    Args:
        table: The table written.
        workers: Requests in flight at once; more than 1 sends from a thread pool.
        policy: Retry policy; the table's ``retry_policy`` when ``None``.
        progress: Called with a :class:`~dynaorm.BatchProgress` after every request.
    """

    def __init__(
        self,
        table: Table,
        *,
        workers: int = 1,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.table = table
        # Every request goes to the table as it is now (its override, if any), or as it is
        # when the ``with`` block is entered, whichever context a put or a worker runs in.
        self._bound = bind(table)
        self.workers = workers
        self.policy = policy or table.retry_policy
        self._meter = Meter("batch_write", progress)
        # The one owner of every write's state; it shares the counters' lock.
        self._ledger: Ledger[BatchWrite] = Ledger(self._meter.lock)
        self._buffer: dict[PhysicalKey, Entry[BatchWrite]] = {}
        self._inflight: dict[Future[None], list[Entry[BatchWrite]]] = {}
        self._owners: dict[PhysicalKey, Future[None]] = {}
        self._executor: WorkerPool | None = None
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

    def _add(self, write: BatchWrite) -> None:
        self._check_open()
        try:
            with self._meter.lock:
                replaced = self._buffer.get(write.key)
                self._buffer[write.key] = self._ledger.add(write, replaces=replaced)
                if replaced is None:
                    self._meter.total += 1
            # Accepted first, so a BatchIncomplete raised now accounts for this write too.
            self._collect([f for f in self._inflight if f.done()])
            self._raise_if_failed()
            if len(self._buffer) >= BATCH_WRITE_LIMIT:
                self._send(self._take())
        except BaseException as exc:  # whatever it is (even Ctrl-C), the batch ends here
            self._end(exc)
            raise

    def _take(self) -> list[Entry[BatchWrite]]:
        keys = list(self._buffer)[:BATCH_WRITE_LIMIT]
        return [self._buffer.pop(key) for key in keys]

    def _send(self, chunk: list[Entry[BatchWrite]]) -> None:
        # The chunk's entries are PENDING in the ledger until a request carrying them goes
        # out, so whatever happens from here on, none can be lost from the accounting.
        if self.workers == 1:
            self._run(chunk)
            self._raise_if_failed()
            return
        # A key still in flight must land before its later write is sent.
        earlier = {self._owners[e.write.key] for e in chunk if e.write.key in self._owners}
        self._collect(list(earlier))
        while len(self._inflight) >= self.workers:
            done, _ = wait(list(self._inflight), return_when=FIRST_COMPLETED)
            self._collect(list(done))
        self._raise_if_failed()
        if self._executor is None:
            self._executor = WorkerPool("batch-write", self.workers)
        future = self._executor.submit(self._run, chunk)
        self._inflight[future] = chunk
        for entry in chunk:
            self._owners[entry.write.key] = future

    def _collect(self, futures: list[Future[None]]) -> None:
        """Wait for ``futures`` and forget them (their outcome is in the ledger already)."""
        wait(futures)
        for future in futures:
            chunk = self._inflight.pop(future, [])
            for entry in chunk:
                if self._owners.get(entry.write.key) is future:
                    del self._owners[entry.write.key]

    def _fail(self, error: BaseException | None, cause: DynaormError | None = None) -> None:
        """Record what ends the batch (the first failure wins) and halt the ledger."""
        with self._meter.lock:
            if not self._ledger.halted:
                self._error = error
                self._cause = cause
            self._ledger.halt()

    def _raise_if_failed(self) -> None:
        if not self._ledger.halted:
            return
        self._end(self._error)
        if self._error is not None:
            raise self._error
        result = self.result
        raise BatchIncomplete(
            f"batch_write on {self._bound.name!r}: {len(result.unprocessed)} write(s) were not "
            f"applied and {len(result.unknown)} may or may not have been ({result.applied} "
            f"applied) when the retry policy ran out ({self.policy.describe()}); "
            "nothing more was sent. They are in .unprocessed and .unknown (entities, "
            "ItemKeys for deletes).",
            unprocessed=result.unprocessed,
            unknown=result.unknown,
            applied=result.applied,
            result=result,
        ) from self._cause

    def _end(self, exc: BaseException | None) -> None:
        """End the batch now: send nothing more, cancel the queued requests and wait for
        those in flight (none of them retries any more), so every write's state is final.

        Args:
            exc: The exception that ends it (``None`` when the policy ran out): it is logged,
                and a note with the accounting is added to it.
        """
        if self._closed:
            return
        self._closed = True
        self._ledger.halt()
        self._buffer.clear()  # the buffered writes stay PENDING in the ledger: not applied
        if self._executor is not None:
            # A second Ctrl-C here stops the wait; the writes still out are then "unknown".
            self._executor.shutdown(wait=True, cancel_futures=True)
        if exc is None or isinstance(exc, BatchIncomplete):
            return
        result = self.result
        summary = (
            f"batch_write on {self._bound.name!r} stopped by {type(exc).__name__}: "
            f"{result.applied} write(s) applied, {len(result.unprocessed)} not applied "
            f"(batch.result.unprocessed), {len(result.unknown)} of unknown outcome "
            "(batch.result.unknown)"
        )
        logger.warning("%s", summary)
        if summary not in getattr(exc, "__notes__", ()):
            exc.add_note(summary)

    def _run(self, chunk: list[Entry[BatchWrite]]) -> None:
        """Send one request and its re-sends (on a worker when ``workers > 1``); record in
        the ledger how each write ended, and here what ended the batch, if anything did."""
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
        try:
            outcome = send_until_done(
                self._bound.transport,
                "BatchWriteItem",
                {e.write.key: e for e in chunk},
                build=build,
                receive=receive,
                retrier=retrier,
                meter=self._meter,
                noun="item",
                gate=_Landing(self._ledger),
            )
        except BaseException as exc:  # a progress callback raised, or Ctrl-C (one worker)
            self._fail(exc)
            return
        if outcome.error is not None and not outcome.gave_up:
            self._fail(outcome.error)
        elif outcome.left or outcome.error is not None:
            self._fail(None, outcome.error)  # the other requests stop retrying at once
