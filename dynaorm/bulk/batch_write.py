"""``table.batch_write()``: puts and deletes of any entity type, sent in 25-item requests."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import ValidationError
from dynaorm.bulk.batch_core import BatchWrite
from dynaorm.bulk.batch_sender import BatchSender
from dynaorm.bulk.batching import (
    BatchWriteResult,
    ProgressCallback,
    check_entity_class,
    key_tuple,
    physical_key,
)
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.entity import EntityBase
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import RetryPolicy
from dynaorm.write.plans import delete_plan
from dynaorm.write.prepare import prepare_put

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.wire.connection import TableBinding


__all__ = ["BatchWriteResult", "BatchWriter", "BatchWrites"]


class BatchWrites:
    """The writes of a batch (``put``, ``delete``), checked and buffered without I/O; shared
    by the sync :class:`BatchWriter` and the async
    :class:`~dynaorm.bulk.async_batch_write.AsyncBatchWriter`, whose ``_add`` sends."""

    table: Table
    _bound: TableBinding

    if TYPE_CHECKING:

        def _add(self, write: BatchWrite) -> None:
            """Buffer ``write`` (each batch class sends its own way)."""

    def put(self, entity: Entity, *, unconditional: bool = False) -> None:
        """Write ``entity`` whole (a ``PutRequest``), replacing any stored item.

        Created/updated timestamp attributes are written as ``save()`` writes them; the
        instance gets them once the server applied the write (a write not applied leaves it
        as it was). The item is the one of ``entity.save_plan()``, without its version.

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
        # Validated (keys, values, size) as it is prepared; the instance is not changed. The
        # item and changes of put_plan(versioning=False): no condition, so no plan is needed.
        prepared = prepare_put(entity, versioning=False, stamping=not unconditional)
        item = prepared.item
        key = physical_key(self.table, item)
        self._add(BatchWrite(key, entity, {"PutRequest": {"Item": item}}, prepared.changes))

    def _put_item(self, item: dict[str, Any], tag: Any) -> None:
        """Write a raw item exactly as given (imports); ``tag`` stands for it in
        ``result.unprocessed``. The caller has checked it (keys, values, size)."""
        self._add(BatchWrite(physical_key(self.table, item), tag, {"PutRequest": {"Item": item}}))

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
        request = delete_plan(key.entity, key, bound=self._bound).batch_request()
        self._add(BatchWrite(key_tuple(key), key, request))

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


class BatchWriter(BatchWrites, BatchSender):
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
        super().__init__(table, workers=workers, policy=policy, progress=progress)

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
