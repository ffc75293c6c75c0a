"""The async methods of :class:`dynaorm.Table` over all of its entity types: item collections
(``apartition``) and transactions (``atransaction``, ``atransact_get``). The lifecycle's
(``acreate``, ``aensure``, ``adescribe``, ``aexists``) are on
:class:`~dynaorm.wire.lifecycle.ManagedTable`; batches are in :mod:`dynaorm.bulk`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from dynaorm.bulk.async_transactions import AsyncTransaction, atransact_get
from dynaorm.wire.lifecycle import ManagedTable

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.bulk.batch_get import Selectable
    from dynaorm.keys.ranges import SortKeyCondition
    from dynaorm.model.bound_keys import BoundKey, ItemKey
    from dynaorm.model.unknown_items import UnknownItem
    from dynaorm.read.collection import ItemCollection
    from dynaorm.wire.retry import RetryPolicy

__all__ = ["AsyncTableMethods"]


class AsyncTableMethods(ManagedTable):
    """The async forms of :meth:`Table.partition`, :meth:`Table.transaction` and
    :meth:`Table.transact_get` (a base of :class:`dynaorm.Table`, the only subclass)."""

    def _table(self) -> Table:
        return cast("Table", self)

    async def apartition(
        self,
        key: BoundKey[Any],
        /,
        *,
        types: Iterable[type[Entity]] | None = None,
        consistent: bool = False,
        strict: bool | None = None,
        range: SortKeyCondition | None = None,
        **partition_values: Any,
    ) -> ItemCollection:
        """:meth:`~dynaorm.Table.partition` with ``await``: the same arguments, checks
        (before any request) and :class:`~dynaorm.ItemCollection`.

        Example:
            >>> result = await shop.apartition(Customer.primary, customer_id="c1")
            ... # doctest: +SKIP
        """
        query = self._table().partition_query(
            key, types=types, strict=strict, range=range, **partition_values
        )
        return await query.consistent(consistent).afetch()

    def atransaction(
        self, *, token: str | None = None, policy: RetryPolicy | None = None
    ) -> AsyncTransaction:
        """:meth:`~dynaorm.Table.transaction` committed with ``await``: an ``async with``
        block whose actions (added without ``await``) are sent when it ends cleanly.

        Raises:
            ValidationError: As for ``transaction()`` (before any request).
            TransactionCanceled: At the end of the block, with ``.reasons``.

        Example:
            >>> async with shop.atransaction(token="place-o1") as tx:  # doctest: +SKIP
            ...     tx.update(Product.key(sku="s1"), Product.stock.add(-2),
            ...               condition=Product.stock >= 2)
            ...     tx.put(order)
        """
        return AsyncTransaction(self._table(), token=token, policy=policy)

    async def atransact_get(
        self,
        keys: Iterable[ItemKey | Entity],
        *,
        select: Sequence[Selectable] | None = None,
    ) -> list[Entity | UnknownItem | None]:
        """:meth:`~dynaorm.Table.transact_get` with ``await``.

        Example:
            >>> customer, order = await shop.atransact_get(  # doctest: +SKIP
            ...     [Customer.key(customer_id="c1"), Order.key(customer_id="c1", order_id="o1")])
        """
        return await atransact_get(self._table(), keys, select=select)
