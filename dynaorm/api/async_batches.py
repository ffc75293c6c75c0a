"""The :class:`~dynaorm.Table` methods of async batches: ``abatch_write`` and
``abatch_get`` (the sync ones are :meth:`Table.batch_write <dynaorm.Table.batch_write>`
and :meth:`Table.batch_get <dynaorm.Table.batch_get>`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

from dynaorm.base.errors import ValidationError
from dynaorm.bulk.async_batch_get import abatch_get
from dynaorm.bulk.async_batch_write import AsyncBatchWriter

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.bulk.batch_get import Selectable
    from dynaorm.bulk.batching import ProgressCallback
    from dynaorm.model.bound_keys import ItemKey
    from dynaorm.model.unknown_items import UnknownItem
    from dynaorm.wire.retry import RetryPolicy

__all__ = ["AsyncBatchMethods"]


def _concurrency(what: str, concurrency: int | None, workers: int | None) -> int:
    """``concurrency``, or ``workers`` (the sync call's name for it), never both."""
    if concurrency is not None and workers is not None:
        raise ValidationError(f"{what}: pass concurrency= or workers= (the same thing), not both")
    found = concurrency if concurrency is not None else workers
    return 1 if found is None else found


class AsyncBatchMethods:
    """``abatch_write`` and ``abatch_get``, mixed into :class:`~dynaorm.Table`."""

    def abatch_write(
        self,
        *,
        concurrency: int | None = None,
        workers: int | None = None,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> AsyncBatchWriter:
        """:meth:`batch_write` for ``async with``: the same writes, checks, retries, result,
        progress reports, errors and accounting, its requests sent as asyncio tasks.

        ``put``/``delete`` stay plain calls (they check and buffer); a full chunk of 25 goes
        out as a task while the block awaits, at most ``concurrency`` at once; the block's
        end awaits them all. Cancelling the block's task stops it at once (the writes in
        flight then of unknown outcome). See :class:`~dynaorm.AsyncBatchWriter`.

        Args:
            concurrency: Requests in flight at once (tasks; no thread is started).
            workers: The same as ``concurrency`` (the sync call's name), so a
                ``batch_write(workers=4)`` becomes ``abatch_write(workers=4)``; not both.
            policy: Retry policy; this table's ``retry_policy`` when ``None``.
            progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

        Returns:
            The :class:`~dynaorm.AsyncBatchWriter`; ``batch.result`` reports what it did.

        Raises:
            ValidationError: ``concurrency`` < 1, or both ``concurrency`` and ``workers``;
                from ``put``/``delete``: as for :meth:`batch_write`.
            BatchIncomplete: The policy ran out (from ``put``/``delete``, ``flush`` or the
                block's end), as for :meth:`batch_write`.

        Example:
            >>> async with shop.abatch_write(concurrency=4) as batch:  # doctest: +SKIP
            ...     batch.put(order)
            ...     batch.delete(Order.key(customer_id="c1", order_id="o0"))
        """
        return AsyncBatchWriter(
            cast("Table", self),
            concurrency=_concurrency("abatch_write", concurrency, workers),
            policy=policy,
            progress=progress,
        )

    async def abatch_get(
        self,
        keys: Iterable[ItemKey | Entity],
        *,
        consistent: bool = False,
        select: Sequence[Selectable] | None = None,
        concurrency: int | None = None,
        workers: int | None = None,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Entity | UnknownItem | None]:
        """:meth:`batch_get` with ``await``: the same requests of 100, retries of unprocessed
        keys, results (in request order, ``None`` for missing items, partial entities with
        ``select``) and errors, at most ``concurrency`` requests in flight as tasks.

        Args:
            keys: :class:`~dynaorm.ItemKey` objects (``Order.key(...)``) or entity instances.
            consistent: Strongly consistent reads.
            select: Attributes to read (partial entities), as for :meth:`batch_get`.
            concurrency: Requests in flight at once (tasks; no thread is started).
            workers: The same as ``concurrency`` (the sync call's name); not both.
            policy: Retry policy; this table's ``retry_policy`` when ``None``.
            progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

        Returns:
            One entry per requested key, in request order, as :meth:`batch_get` returns.

        Raises:
            BatchIncomplete: Keys were still unprocessed when the policy ran out.
            ValidationError: Something is not a key or entity of this table (before any
                request), ``concurrency`` < 1, or both ``concurrency`` and ``workers``.

        Example:
            >>> await shop.abatch_get([Customer.key(customer_id="c1"),  # doctest: +SKIP
            ...                        Order.key(customer_id="c1", order_id="o1")])
            [Customer(customer_id='c1', ...), None]
        """
        return await abatch_get(
            cast("Table", self),
            keys,
            consistent=consistent,
            select=select,
            concurrency=_concurrency("abatch_get", concurrency, workers),
            policy=policy,
            progress=progress,
        )
