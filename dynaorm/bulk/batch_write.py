"""``table.batch_write()``: puts and deletes of any entity type, sent in 25-item requests."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, wait
from types import TracebackType
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
    check_entity_class,
    key_tuple,
    physical_key,
    send_until_done,
)
from dynaorm.bulk.ledger import Entry, Ledger
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.entity import EntityBase
from dynaorm.model.timestamps import now, stamp_for_save
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import Retrier, RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table


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
    * **Every write is accounted for**, however the batch ends: applied (``result.applied``
      counts them), not applied (``result.unprocessed``), or of unknown outcome
      (``result.unknown``: a request carrying it was sent and no answer came: a read timeout,
      a broken connection, a server fault, or the batch was stopped while it was out), or
      superseded (``result.superseded``).
    * **If the block raises** (Ctrl-C included), or a ``progress`` callback raises, nothing
      more is sent: buffered and queued writes are dropped (not applied), the requests in
      flight finish their current attempt without retrying, and the original exception
      propagates with a note summing up the accounting; ``batch.result`` lists every write
      not applied or of unknown outcome.
    * **If the policy runs out**, nothing more is sent either, and :class:`~dynaorm.BatchIncomplete`
      is raised (from ``put``/``delete`` or at the end of the block) with the same accounting:
      ``.unprocessed`` (not applied: entities, deletes as :class:`ItemKey`), ``.unknown``,
      ``.applied`` (a count) and ``.result``. An error that retrying cannot fix
      (``TableNotFound``, a ``ValidationException``) is raised as itself, the accounting in
      ``batch.result``.
    * **One table**: the batch is bound to the table as it is when it is opened (its
      ``table.override(...)``, if any) — when its ``with`` block is entered (or when it is
      made, if it is used without one); every request goes there, whichever block a
      ``put``/``delete`` runs in.
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
        # Every request goes to the table as it is now (its override, if any), or as it is
        # when the ``with`` block is entered, whichever context a put or a worker runs in.
        self._bound = bind(table)
        self.workers = workers
        self.policy = policy or table.retry_policy
        self._meter = Meter("batch_write", progress)
        # The one owner of every write's state; it shares the counters' lock.
        self._ledger: Ledger[_Write] = Ledger(self._meter.lock)
        self._buffer: dict[PhysicalKey, Entry[_Write]] = {}
        self._inflight: dict[Future[None], list[Entry[_Write]]] = {}
        self._owners: dict[PhysicalKey, Future[None]] = {}
        self._executor: WorkerPool | None = None
        self._closed = False
        # What ended the batch: an error to raise as itself, or (the policy ran out) the
        # last error seen; set once, by the first failure.
        self._error: BaseException | None = None
        self._cause: DynaormError | None = None

    # -- the public surface ----------------------------------------------------------------

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
        if not isinstance(entity, EntityBase):
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
        key = target.item_key if isinstance(target, EntityBase) else target
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
            BatchIncomplete: Some writes were not applied (or may not have been) when the
                policy ran out.
        """
        self._check_open()
        try:
            while self._buffer:
                self._send(self._take())
            self._collect(list(self._inflight))
            self._raise_if_failed()
            if self._ledger.open:  # cannot happen; the ledger says so if it ever does
                self._fail(None)
                self._raise_if_failed()
        except BaseException as exc:
            self._end(exc)
            raise

    def __enter__(self) -> BatchWriter:
        if self._meter.total == 0 and not self._closed:  # opened here, before any write
            self._bound = bind(self.table)
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
            elif exc is not None:
                self._end(exc)
        finally:
            self._closed = True
            self._ledger.halt()
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(
                f"this batch_write on {self._bound.name!r} is finished; start a new one"
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

    def _take(self) -> list[Entry[_Write]]:
        keys = list(self._buffer)[:BATCH_WRITE_LIMIT]
        return [self._buffer.pop(key) for key in keys]

    def _send(self, chunk: list[Entry[_Write]]) -> None:
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

    def _run(self, chunk: list[Entry[_Write]]) -> None:
        """Send one request and its re-sends (on a worker when ``workers > 1``); record in
        the ledger how each write ended, and here what ended the batch, if anything did."""
        table, name = self.table, self._bound.name

        def build(entries: list[Entry[_Write]]) -> dict[str, Any]:
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
                gate=self._ledger,
            )
        except BaseException as exc:  # a progress callback raised, or Ctrl-C (one worker)
            self._fail(exc)
            return
        if outcome.error is not None and not outcome.gave_up:
            self._fail(outcome.error)
        elif outcome.left or outcome.error is not None:
            self._fail(None, outcome.error)  # the other requests stop retrying at once
