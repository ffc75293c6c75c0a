"""``table.abatch_write()``: the batch write of :mod:`dynaorm.bulk.batch_write` with its
requests sent as asyncio tasks.

The writes are the sync batch's (:class:`~dynaorm.bulk.batch_write.BatchWrites`: the same
checks, the same ``ValidationError`` before any request); the state, the requests, what each
response means for the ledger and the counters, the backoffs and the give-ups are the sync
batch's too (:class:`~dynaorm.bulk.batch_core.BatchCore`, :class:`~dynaorm.bulk.resending.
Resend`). Only the sending differs: a full chunk becomes a task, at most ``concurrency`` at
once, sent through the async transport, backoffs slept with ``asyncio.sleep``. No thread is
started.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING

from dynaorm.base.errors import BatchIncomplete, ValidationError
from dynaorm.bulk.batch_core import BatchCore, BatchWrite
from dynaorm.bulk.batch_write import BatchWrites
from dynaorm.bulk.batching import PhysicalKey, ProgressCallback
from dynaorm.bulk.ledger import Entry
from dynaorm.bulk.resending import asend_until_done
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.table import Table

__all__ = ["AsyncBatchWriter"]

Chunk = list[Entry[BatchWrite]]


class AsyncBatchWriter(BatchWrites, BatchCore):
    """Buffers puts and deletes and sends them as ``BatchWriteItem`` requests of 25, from
    asyncio tasks; use it through :meth:`Table.abatch_write <dynaorm.Table.abatch_write>` as
    ``async with``.

    It behaves as :class:`~dynaorm.BatchWriter` does (same-key writes, versioned entities,
    retries, ``result``, progress reports, ``BatchIncomplete`` and every other error, the
    accounting whatever ends the batch), with these differences:

    * ``put`` and ``delete`` never wait: each checks and buffers its write, and a full chunk
      of 25 is queued; queued chunks go out as tasks, at most ``concurrency`` in flight, in
      the order they were filled (a chunk holding a key still in flight waits for it), while
      the block awaits anything, and at its end. A long loop of puts that never awaits only
      buffers: ``await batch.drain()`` after a put waits for a free slot, as the sync
      ``put`` does, and bounds what the batch holds.
    * **Cancelling** the task running the block (``task.cancel()``, ``asyncio.timeout``)
      stops it at once: the requests in flight are cancelled (their writes are then of
      unknown outcome, ``result.unknown``), nothing more is sent, and the buffered and queued
      writes are not applied (``result.unprocessed``), nor are those of a request asleep
      before re-sending what was refused. Any other exception from the block
      lets the requests in flight finish their current attempt, without retrying, as the
      sync batch does.
    * The ``progress`` callback runs in the event loop, between requests.

    Args:
        table: The table every written entity belongs to.
        concurrency: Requests in flight at once (asyncio tasks, no threads).
        policy: Retry policy; the table's ``retry_policy`` when ``None``.
        progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

    Example:
        >>> async def load(orders):  # doctest: +SKIP
        ...     async with shop.abatch_write(concurrency=4) as batch:
        ...         for order in orders:
        ...             batch.put(order)
        ...     return batch.result.puts
    """

    def __init__(
        self,
        table: Table,
        *,
        concurrency: int = 1,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(
                f"abatch_write: concurrency must be at least 1, got {concurrency!r}"
            )
        super().__init__(table, policy=policy, progress=progress)
        self.concurrency = concurrency
        self._queue: deque[Chunk] = deque()
        self._tasks: dict[asyncio.Task[None], Chunk] = {}
        self._owners: dict[PhysicalKey, asyncio.Task[None]] = {}
        self._raised: BaseException | None = None

    # -- the sending -------------------------------------------------------------------------

    def _add(self, write: BatchWrite) -> None:
        self._check_open()
        try:
            full = self._accept(write)
            # Accepted first, so a BatchIncomplete raised now accounts for this write too.
            self._raise_if_failed()
            if full:
                self._queue.append(self._take())
                self._start()
        except BaseException:  # the batch ends here; __aexit__ waits for the rest
            self._stop()
            raise

    def _start(self) -> None:
        """Start queued chunks, in order, while fewer than ``concurrency`` are in flight and
        none of the head chunk's keys is."""
        while self._queue and len(self._tasks) < self.concurrency:
            if self._ledger.halted:
                return
            chunk = self._queue[0]
            if any(entry.write.key in self._owners for entry in chunk):
                return  # a key's earlier write lands first; the later one still wins
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise ValidationError(
                    "abatch_write sends from the running event loop: use it in "
                    "`async with table.abatch_write() as batch:` inside a coroutine"
                ) from None
            self._queue.popleft()
            task = loop.create_task(self._run(chunk))
            self._tasks[task] = chunk
            for entry in chunk:
                self._owners[entry.write.key] = task
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        chunk = self._tasks.pop(task, [])
        for entry in chunk:
            if self._owners.get(entry.write.key) is task:
                del self._owners[entry.write.key]
        if not task.cancelled():
            task.exception()  # retrieved: _run records its failures itself
        self._start()

    async def _run(self, chunk: Chunk) -> None:
        """Send one request and its re-sends; record how each write ended (the ledger) and
        what ended the batch, if anything did."""
        from dynaorm.wire.async_transport import async_transport  # the "async" extra

        transport = async_transport(self._bound.transport)
        try:
            outcome = await asend_until_done(transport, "BatchWriteItem", self._resend(chunk))
        except BaseException as exc:  # cancelled, or a progress callback raised
            self._fail(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self._settle(outcome)

    def _raise_if_failed(self) -> None:
        if not self._ledger.halted:
            return
        self._stop()
        self._raised = self._failure()
        raise self._raised

    async def _wait(self, *, cancel: bool) -> None:
        """Wait for every request in flight (cancelled first when ``cancel``)."""
        while self._tasks:
            tasks = list(self._tasks)
            if cancel:
                for task in tasks:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _end(self, exc: BaseException | None) -> None:
        """End the batch: send nothing more, and wait for the requests in flight, cancelled
        at once when the batch was cancelled; then every write's state is final."""
        self._stop()
        self._queue.clear()  # their writes stay PENDING in the ledger: not applied
        try:
            await self._wait(cancel=isinstance(exc, asyncio.CancelledError))
        except asyncio.CancelledError:  # cancelled while waiting: stop at once all the same
            for task in self._tasks:
                task.cancel()
            raise
        finally:
            raised = self._raised
            if isinstance(raised, BatchIncomplete):
                self._refresh(raised)
            self._note(exc)
            if raised is not exc:
                self._note(raised)

    # -- the public surface ------------------------------------------------------------------

    async def flush(self) -> None:
        """Send everything buffered and wait until every request has finished.

        Raises:
            BatchIncomplete: Some writes were not applied (or may not have been) when the
                policy ran out.
        """
        self._check_open()
        try:
            while self._buffer:
                self._queue.append(self._take())
            self._start()
            while self._tasks and not self._ledger.halted:
                await asyncio.wait(list(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                self._start()
            await self._raise_when_settled()
            if self._ledger.open:  # cannot happen; the ledger says so if it ever does
                self._fail(None)
                self._raise_if_failed()
        except BaseException as exc:
            await self._end(exc)
            raise

    async def drain(self) -> None:
        """Wait until no full chunk waits for a free slot (at most ``concurrency`` requests
        in flight): what the sync ``put`` waits for. ``batch.put(x); await batch.drain()``
        in a long loop bounds what the batch holds, as ``writer.write(data); await
        writer.drain()`` does for an asyncio stream.

        Raises:
            BatchIncomplete: An earlier request ran out of retries (the accounting final).
        """
        self._check_open()
        try:
            self._start()
            while self._queue and self._tasks and not self._ledger.halted:
                await asyncio.wait(list(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                self._start()
            await self._raise_when_settled()
        except BaseException as exc:
            await self._end(exc)
            raise

    async def _raise_when_settled(self) -> None:
        """Once the batch failed: wait for the requests in flight (they no longer retry),
        then raise what ended it, with the final accounting."""
        if self._ledger.halted:
            await self._wait(cancel=False)
            self._raise_if_failed()

    async def __aenter__(self) -> AsyncBatchWriter:
        if self._meter.total == 0 and not self._closed:  # opened here, before any write
            self._bound = bind(self.table)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None and not self._closed:
                await self.flush()
            else:
                await self._end(exc)
        finally:
            self._closed = True
            self._ledger.halt()
