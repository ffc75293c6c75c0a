"""Transactions with ``await``: ``async with table.atransaction(...) as tx`` and
``await table.atransact_get(...)``.

An :class:`AsyncTransaction` is a :class:`~dynaorm.Transaction`: its actions are added
synchronously, with every check made as each is added (before any request); only the commit
is awaited, when the ``async with`` block ends without an exception. The commit spends the
same retry budget, retries the same errors (``TransactionInProgressException`` under the
same token), maps cancellation reasons to the actions the same way and brings versions and
timestamps up to date only once it succeeded, because it runs the sync commit's own steps
(``_begin``, ``_canceled``, ``_unknown``, ``_committed``) around an awaited request.
:func:`atransact_get` sends the request a :class:`~dynaorm.bulk.transact_get.TransactGet`
builds and decodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from dynaorm.base.errors import EndpointUnavailable, ServiceError, TransactionCanceled
from dynaorm.bulk.transact_get import TransactGet
from dynaorm.bulk.transactions import IN_PROGRESS, Transaction
from dynaorm.read.async_reads import send
from dynaorm.wire.translate import root_cause

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.bulk.batch_get import Selectable
    from dynaorm.model.bound_keys import ItemKey
    from dynaorm.model.unknown_items import UnknownItem

__all__ = ["AsyncTransaction", "atransact_get"]


class AsyncTransaction(Transaction):
    """A :class:`~dynaorm.Transaction` committed with ``await`` (``table.atransaction()``).

    Example:
        >>> async with shop.atransaction(token="place-o1") as tx:  # doctest: +SKIP
        ...     tx.update(Product.key(sku="s1"), Product.stock.add(-2),
        ...               condition=Product.stock >= 2)
        ...     tx.put(order)
    """

    async def acommit(self) -> None:
        """:meth:`~dynaorm.Transaction.commit` with ``await`` (the ``async with`` block
        does this when it ends without an exception).

        Raises:
            TransactionCanceled: As for ``commit()``: nothing was written; ``.reasons``.
            EndpointUnavailable: As for ``commit()``: the outcome is unknown.
            ValidationError: The transaction was committed or discarded already.
        """
        retrier = self._begin()
        if retrier is None:
            return
        try:
            await send(
                self._bound.transport,
                "TransactWriteItems",
                self.compile(),
                idempotent=True,
                retrier=retrier,
                retry_codes=IN_PROGRESS,
            )
        except TransactionCanceled as exc:
            raise self._canceled(exc, retrier) from root_cause(exc)
        except (EndpointUnavailable, ServiceError) as exc:
            self._unknown(exc, retrier)
            raise
        self._committed()

    def __enter__(self) -> Transaction:
        raise TypeError("an async transaction is used with `async with table.atransaction()`")

    async def __aenter__(self) -> AsyncTransaction:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closing(exc):
            await self.acommit()


async def atransact_get(
    table: Table,
    keys: Iterable[ItemKey | Entity],
    *,
    select: Sequence[Selectable] | None = None,
) -> list[Entity | UnknownItem | None]:
    """:func:`~dynaorm.bulk.transact_get.transact_get` with ``await``."""
    read = TransactGet.build(table, keys, select)
    if read.request is None:
        return read.decode(None)
    try:
        response = await send(table.transport, "TransactGetItems", read.request, idempotent=True)
    except TransactionCanceled as exc:
        raise read.canceled(exc) from root_cause(exc)
    return read.decode(response)
