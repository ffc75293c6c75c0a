"""``table.batch_write()``: puts and deletes of any entity type, sent in 25-item requests."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, wait
from types import TracebackType
from typing import Any

import attrs

from dynaorm._batching import (
    BatchWriteResult,
    Meter,
    Outcome,
    PhysicalKey,
    ProgressCallback,
    check_entity_class,
    key_tuple,
    physical_key,
    send_until_done,
)
from dynaorm._entity import Entity
from dynaorm._entity_keys import ItemKey
from dynaorm._errors import BatchIncomplete, DynaormError, ValidationError
from dynaorm._limits import BATCH_WRITE_LIMIT
from dynaorm._retry import Retrier, RetryPolicy
from dynaorm._table import Table
from dynaorm._threads import WorkerPool
from dynaorm._timestamps import now, stamp_for_save

__all__ = ["BatchWriteResult", "BatchWriter"]

logger = logging.getLogger("dynaorm")


def _nothing() -> None:
    return None


@attrs.frozen
class _Write:
    key: PhysicalKey
    target: Any  # the entity or ItemKey (a raw item's caller-given tag) result.unprocessed lists
    request: dict[str, Any]

    @property
    def is_put(self) -> bool:
        return "PutRequest" in self.request


class BatchWriter:
    """Buffers puts and deletes and sends them as ``BatchWriteItem`` requests of 25.

    Use it through :meth:`Table.batch_write <dynaorm.Table.batch_write>` as a context manager.
    Writes are buffered and a request goes out whenever 25 distinct keys are buffered; the
    rest is sent when the block ends. Unprocessed items and throttled or failed requests are
    re-sent with exponential backoff and full jitter under ``policy``; every re-send of one
    request spends that request's budget of ``policy.max_attempts`` attempts.

    * **Same key twice**: a write of a key that is still buffered replaces the buffered one
      (the later wins; counted in ``result.superseded``), so two writes of one key never go
      out in one request. With ``workers > 1``, a request holding a key waits until an
      earlier request holding the same key has finished, so the later write still wins.
    * **If the block raises**, nothing more is sent: buffered writes are dropped, requests
      already sent finish but their unprocessed items are not re-sent, and the exception
      propagates. What was flushed before is written: ``batch.result`` counts it, and lists
      every write that was not applied in ``result.unprocessed``.
    * **If the policy runs out**, nothing more is sent either, and :class:`~dynaorm.BatchIncomplete`
      is raised (from ``put``/``delete`` or at the end of the block) with every write that
      was not applied: the unprocessed items as entities (deletes as :class:`ItemKey`) and
      whatever was still buffered. An error that retrying cannot fix (``TableNotFound``, a
      ``ValidationException``) is raised as itself, with the same list in ``batch.result``.
    * **Versioned entities** are refused with :class:`~dynaorm.ValidationError`:
      ``BatchWriteItem`` cannot carry the version condition, so a batch would silently undo
      a concurrent change. Write them with ``save()``/``delete()`` or in a transaction, or
      pass ``unconditional=True`` to write them as they are (imports, restores).

    Args:
        table: The table every written entity belongs to.
        workers: Requests in flight at once; more than 1 sends from a thread pool.
        policy: Retry policy; the table's ``retry_policy`` when ``None``.
        progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

    Example:
        >>> with shop.batch_write(workers=4) as batch:  # doctest: +SKIP
        ...     for order in orders:
        ...         batch.put(order)
        ...     batch.delete(Order.key(customer_id="c1", order_id="old"))
        >>> batch.result.puts  # doctest: +SKIP
        1000
    """

    def __init__(
        self,
        table: Table,
        *,
        workers: int = 1,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if workers < 1:
            raise ValidationError(f"batch_write: workers must be at least 1, got {workers!r}")
        self.table = table
        self.workers = workers
        self.policy = policy or table.retry_policy
        self._meter = Meter("batch_write", progress)
        self._buffer: dict[PhysicalKey, _Write] = {}
        self._inflight: dict[Future[Outcome[_Write]], list[_Write]] = {}
        self._owners: dict[PhysicalKey, Future[Outcome[_Write]]] = {}
        self._executor: WorkerPool | None = None
        self._stop = threading.Event()
        self._closed = False
        self._puts = 0
        self._deletes = 0
        self._superseded = 0
        self._unprocessed: list[_Write] = []
        self._error: BaseException | None = None
        self._cause: DynaormError | None = None

    # -- the public surface ----------------------------------------------------------------

    @property
    def result(self) -> BatchWriteResult:
        """What the batch did so far (a snapshot)."""
        meter = self._meter
        with meter.lock:
            return BatchWriteResult(
                puts=self._puts,
                deletes=self._deletes,
                requests=meter.requests,
                retries=meter.retries,
                throttles=meter.throttles,
                unprocessed_returns=meter.returned,
                consumed_capacity=meter.capacity,
                superseded=self._superseded,
                unprocessed=tuple(w.target for w in self._unprocessed),
            )

    def put(self, entity: Entity, *, unconditional: bool = False) -> None:
        """Write ``entity`` whole (a ``PutRequest``), replacing any stored item.

        Created/updated timestamp attributes are set as ``save()`` sets them.

        Args:
            entity: An instance of an entity of this table.
            unconditional: Write the item exactly as the instance holds it (version and
                timestamps included, none set), over whatever is stored; this also allows
                versioned entities. For imports and restores.

        Raises:
            ValidationError: The entity is versioned, of another table, has invalid keys or
                attributes, or is larger than 400 KB. Nothing is buffered for it.
            BatchIncomplete: An earlier request ran out of retries (see the class).
        """
        cls = type(entity)
        if not isinstance(entity, Entity):
            raise ValidationError(f"batch_write.put() takes an entity, not {cls.__name__}")
        check_entity_class(self.table, cls, "batch_write.put()")
        self._check_unversioned(cls, unconditional, "put")
        restore = _nothing if unconditional else stamp_for_save(entity, now())
        try:
            item = entity.to_item()  # validated (keys, values, size) by to_item
        except BaseException:
            restore()
            raise
        key = physical_key(self.table, item)
        self._add(_Write(key, entity, {"PutRequest": {"Item": item}}))

    def _put_item(self, item: dict[str, Any], tag: Any) -> None:
        """Write a raw item exactly as given (imports); ``tag`` stands for it in
        ``result.unprocessed``. The caller has checked it (keys, values, size)."""
        self._add(_Write(physical_key(self.table, item), tag, {"PutRequest": {"Item": item}}))

    def delete(self, target: Entity | ItemKey, *, unconditional: bool = False) -> None:
        """Delete the item of ``target`` (an entity instance or an :class:`ItemKey`).

        Deleting a missing item is not an error.

        Args:
            target: Names the item.
            unconditional: Allow a versioned entity type; the item is deleted whatever its
                stored version.

        Raises:
            ValidationError: The entity type is versioned or of another table.
            BatchIncomplete: An earlier request ran out of retries (see the class).
        """
        key = target.item_key if isinstance(target, Entity) else target
        if not isinstance(key, ItemKey):
            raise ValidationError(
                f"batch_write.delete() takes an entity or an ItemKey, not {type(target).__name__}"
            )
        check_entity_class(self.table, key.entity, "batch_write.delete()")
        self._check_unversioned(key.entity, unconditional, "delete")
        self._add(_Write(key_tuple(key), key, {"DeleteRequest": {"Key": key.to_request()}}))

    def flush(self) -> None:
        """Send everything buffered and wait until every request has finished.

        Raises:
            BatchIncomplete: Some writes were still unprocessed when the policy ran out.
        """
        self._check_open()
        while self._buffer:
            self._send(self._take())
        self._collect(list(self._inflight))
        self._raise_if_failed()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None and not self._closed:
                self.flush()
            elif not self._closed:
                self._abandon("the block raised")
        finally:
            self._closed = True
            if self._executor is not None:
                self._executor.shutdown(wait=True)

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(
                f"this batch_write on {self.table.name!r} is finished; start a new one"
            )

    @staticmethod
    def _check_unversioned(entity: type[Entity], unconditional: bool, verb: str) -> None:
        name = entity.__version_attribute__
        if name is None or unconditional:
            return
        raise ValidationError(
            f"batch_write.{verb}(): {entity.__qualname__} is versioned (attribute {name!r}) and "
            "BatchWriteItem cannot carry its version condition, so the batch could overwrite a "
            "concurrent change. Use table.transaction() (checked, up to 100 items) or "
            f"entity.save()/delete(); pass unconditional=True to {verb} it without the check."
        )

    def _add(self, write: _Write) -> None:
        self._check_open()
        with self._meter.lock:
            if write.key in self._buffer:
                self._superseded += 1
            else:
                self._meter.total += 1
        self._buffer[write.key] = write
        # Accepted first, so a BatchIncomplete raised now lists this write too.
        self._collect([f for f in self._inflight if f.done()])
        self._raise_if_failed()
        if len(self._buffer) >= BATCH_WRITE_LIMIT:
            self._send(self._take())

    def _take(self) -> list[_Write]:
        keys = list(self._buffer)[:BATCH_WRITE_LIMIT]
        return [self._buffer.pop(key) for key in keys]

    def _send(self, chunk: list[_Write]) -> None:
        if self.workers == 1:
            try:
                outcome = self._run(chunk)
            except BaseException as exc:  # a progress callback raised, or worse
                self._fail(exc)
                outcome = Outcome(chunk)
            self._settle(outcome)
            self._raise_if_failed()
            return
        # A key still in flight must land before its later write is sent.
        earlier = {self._owners[w.key] for w in chunk if w.key in self._owners}
        self._collect(list(earlier))
        while len(self._inflight) >= self.workers:
            done, _ = wait(list(self._inflight), return_when=FIRST_COMPLETED)
            self._collect(list(done))
        self._raise_if_failed()
        if self._executor is None:
            self._executor = WorkerPool("batch-write", self.workers)
        future = self._executor.submit(self._run, chunk)
        self._inflight[future] = chunk
        for write in chunk:
            self._owners[write.key] = future

    def _collect(self, futures: list[Future[Outcome[_Write]]]) -> None:
        for future in futures:
            if future not in self._inflight:
                continue
            chunk = self._inflight.pop(future)
            for write in chunk:
                if self._owners.get(write.key) is future:
                    del self._owners[write.key]
            try:
                outcome = future.result()
            except BaseException as exc:  # a progress callback raised, or worse
                self._fail(exc)
                outcome = Outcome(chunk)
            self._settle(outcome)

    def _settle(self, outcome: Outcome[_Write]) -> None:
        if not outcome.left and outcome.error is None:
            return
        self._unprocessed.extend(outcome.left)
        if outcome.error is not None and not outcome.gave_up:
            self._fail(outcome.error)
        else:
            self._cause = self._cause or outcome.error
            self._fail(None)

    def _fail(self, error: BaseException | None) -> None:
        self._stop.set()
        if self._error is None and error is not None:
            self._error = error
        self._closed = True

    def _raise_if_failed(self) -> None:
        if not self._stop.is_set():
            return
        self._closed = True
        self._collect(list(self._inflight))
        self._unprocessed.extend(self._buffer.values())
        self._buffer.clear()
        if self._error is not None:
            raise self._error
        unprocessed = [w.target for w in self._unprocessed]
        raise BatchIncomplete(
            f"batch_write on {self.table.name!r}: {len(unprocessed)} write(s) were not applied "
            f"after the retry policy ran out ({self.policy.max_attempts} attempts per request); "
            "nothing more was sent. They are in .unprocessed (entities, ItemKeys for deletes).",
            unprocessed=unprocessed,
        ) from self._cause

    def _abandon(self, why: str) -> None:
        self._stop.set()
        self._closed = True
        dropped = len(self._buffer)
        self._unprocessed.extend(self._buffer.values())
        self._buffer.clear()
        self._collect(list(self._inflight))
        logger.warning(
            "batch_write on %r: %s; %d buffered write(s) dropped, %d write(s) not applied in "
            "all (see batch.result.unprocessed)",
            self.table.name,
            why,
            dropped,
            len(self._unprocessed),
        )

    def _run(self, chunk: list[_Write]) -> Outcome[_Write]:
        table = self.table

        def build(writes: list[_Write]) -> dict[str, Any]:
            return {
                "RequestItems": {table.name: [w.request for w in writes]},
                "ReturnConsumedCapacity": "TOTAL",
            }

        def receive(response: dict[str, Any]) -> list[PhysicalKey]:
            entries = response.get("UnprocessedItems", {}).get(table.name, [])
            return [
                physical_key(
                    table,
                    e["PutRequest"]["Item"] if "PutRequest" in e else e["DeleteRequest"]["Key"],
                )
                for e in entries
            ]

        def on_done(writes: list[_Write]) -> None:
            puts = sum(1 for w in writes if w.is_put)
            with self._meter.lock:
                self._puts += puts
                self._deletes += len(writes) - puts

        retrier = Retrier(self.policy, f"BatchWriteItem on {table.name!r}", stop=self._stop)
        outcome = send_until_done(
            table,
            "BatchWriteItem",
            {w.key: w for w in chunk},
            build=build,
            receive=receive,
            retrier=retrier,
            meter=self._meter,
            noun="item",
            on_done=on_done,
        )
        if outcome.left or outcome.error is not None:
            self._stop.set()  # the other requests in flight stop retrying at once
        return outcome
