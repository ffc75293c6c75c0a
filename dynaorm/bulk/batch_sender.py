"""Sending a batch write's requests from threads: chunks of 25 on one thread or a pool of
workers, the order of writes of one key, and how a batch ends (see
:mod:`dynaorm.bulk.ledger`).

:class:`BatchSender` is the machinery under the public
:class:`~dynaorm.bulk.batch_write.BatchWriter`, which adds the writes themselves; the state and
decisions it shares with the async batch are :class:`~dynaorm.bulk.batch_core.BatchCore`'s.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING

from dynaorm.base.threads import WorkerPool
from dynaorm.bulk.batch_core import BatchCore, BatchWrite
from dynaorm.bulk.batching import PhysicalKey, ProgressCallback
from dynaorm.bulk.ledger import Entry
from dynaorm.bulk.resending import send_until_done
from dynaorm.wire.retry import RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.table import Table


__all__ = ["BatchSender", "BatchWrite"]


class BatchSender(BatchCore):
    """The state of a batch write and the sending of its requests from threads.

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
        super().__init__(table, policy=policy, progress=progress)
        self.workers = workers
        self._inflight: dict[Future[None], list[Entry[BatchWrite]]] = {}
        self._owners: dict[PhysicalKey, Future[None]] = {}
        self._executor: WorkerPool | None = None

    def _add(self, write: BatchWrite) -> None:
        self._check_open()
        try:
            full = self._accept(write)
            # Accepted first, so a BatchIncomplete raised now accounts for this write too.
            if self._inflight:  # (one worker: never any)
                self._collect([f for f in self._inflight if f.done()])
            self._raise_if_failed()
            if full:
                self._send(self._take())
        except BaseException as exc:  # whatever it is (even Ctrl-C), the batch ends here
            self._end(exc)
            raise

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

    def _raise_if_failed(self) -> None:
        if not self._ledger.halted:
            return
        self._end(self._error)
        raise self._failure()

    def _end(self, exc: BaseException | None) -> None:
        """End the batch now: send nothing more, cancel the queued requests and wait for
        those in flight (none of them retries any more), so every write's state is final.

        Args:
            exc: The exception that ends it (``None`` when the policy ran out): it is logged,
                and a note with the accounting is added to it.
        """
        if not self._stop():
            return
        if self._executor is not None:
            # A second Ctrl-C here stops the wait; the writes still out are then "unknown".
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._note(exc)

    def _run(self, chunk: list[Entry[BatchWrite]]) -> None:
        """Send one request and its re-sends (on a worker when ``workers > 1``); record in
        the ledger how each write ended, and here what ended the batch, if anything did."""
        try:
            outcome = send_until_done(self._bound.transport, "BatchWriteItem", self._resend(chunk))
        except BaseException as exc:  # a progress callback raised, or Ctrl-C (one worker)
            self._fail(exc)
            return
        self._settle(outcome)
