"""The public :class:`Entity`: the entity core with its reads, writes and queries.

Each method here is the user's entry to one feature and delegates to the layer that owns it:
single-item reads to :mod:`dynaorm.read.items`, whole-item writes to
:mod:`dynaorm.write.items`, updates and read-modify-write to the
:class:`~dynaorm.write.entity_writes.EntityWrites` mixin, queries and scans to
:mod:`dynaorm.read.query` and :mod:`dynaorm.read.scan`. The async methods (``aget``,
``asave``, ...) run the same plans through :mod:`dynaorm.read.async_reads` and
:mod:`dynaorm.write.async_writes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.entity import EntityBase, check_concrete
from dynaorm.read.async_reads import aget_item, arefresh_entity
from dynaorm.read.items import read_item, refresh_entity
from dynaorm.read.query import Query
from dynaorm.read.scan import Scan
from dynaorm.read.sharded import ShardedQuery
from dynaorm.write.async_writes import aexecute, amutate_entity
from dynaorm.write.entity_writes import EntityWrites
from dynaorm.write.items import delete_entity, save_entity
from dynaorm.write.plans import delete_plan, put_plan
from dynaorm.write.updates import ReturnValues, update_plan

if TYPE_CHECKING:
    from dynaorm.base.errors import VersionConflict
    from dynaorm.model.bound_keys import BoundKey
    from dynaorm.wire.retry import RetryPolicy

__all__ = ["Entity"]


class Entity(EntityWrites, EntityBase):
    """Base class of entity types: ``class Order(Entity, table=shop)``.

    Declare PynamoDB attributes and :class:`~dynaorm.Key` templates; pass ``table=`` (and
    optionally ``type_name=``, the value stored in the table's entity-type attribute, default
    the class name). A class without ``table=`` is abstract and can hold shared attributes.
    ``store_key_fields=`` (``True``, ``False``, or the key fields still stored) overrides the
    table's choice of storing key-template fields beside the keys (``Table(store_key_fields=)``).

    Example:
        >>> from pynamodb.attributes import UnicodeAttribute
        >>> from dynaorm import Key, Table
        >>> shop = Table("doc-shop")
        >>> class Customer(Entity, table=shop):
        ...     customer_id = UnicodeAttribute()
        ...     primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
        >>> Customer.key(customer_id="c1").key
        {'PK': 'CUSTOMER#c1', 'SK': 'PROFILE'}
    """

    # -- reads and writes of one item --------------------------------------------------------

    @classmethod
    def get(cls, *, consistent: bool = False, **values: Any) -> Self | None:
        """Read one item by its key attribute values; ``None`` when there is no such item.

        Example:
            >>> Customer.get(customer_id="c1")  # doctest: +SKIP
            Customer(customer_id='c1', email='a@x.io', version=1)
        """
        return read_item(cls, cls.key(**values), consistent=consistent)

    def refresh(self, *, consistent: bool = True) -> None:
        """Reload this instance from the table, whole: a partial instance (read with
        ``select()``) holds every attribute afterwards and can be saved.

        Raises:
            LookupError: The item no longer exists, or is not of this type (a
                :class:`~dynaorm.UnknownEntityType`).

        Example:
            >>> order.refresh()  # doctest: +SKIP
        """
        refresh_entity(self, consistent=consistent)

    def save(self, *, condition: Condition | None = None) -> None:
        """Write the whole item (PutItem), replacing any stored one.

        A versioned entity writes the next version, conditioned on the one it holds (on the
        item not existing, for the first save). Timestamps are set: created ones when the
        instance holds none, updated ones always. Nothing changes on the instance if the write
        fails.

        Args:
            condition: A condition the stored item must meet, e.g. ``Order.status == "NEW"``.

        Raises:
            VersionConflict: Another writer got there first (carries the stored item).
            ConditionFailed: ``condition`` was false (carries the stored item).
            ValidationError: Keys or attributes are invalid, a number cannot be stored, or the
                item is over 400 KB; nothing was sent.

        Example:
            >>> order.save(condition=Order.status == "NEW")  # doctest: +SKIP
        """
        self._assert_complete()
        save_entity(self, condition)

    def delete(self, *, condition: Condition | None = None) -> None:
        """Delete the item (DeleteItem). Deleting a missing item is not an error unless a
        condition or version says otherwise.

        Raises:
            VersionConflict: The stored version is not the one this instance holds.
            ConditionFailed: ``condition`` was false.

        Example:
            >>> order.delete()  # doctest: +SKIP
        """
        delete_entity(self, condition)

    # -- the same reads and writes with await (needs the "async" extra) ---------------------

    @classmethod
    async def aget(cls, *, consistent: bool = False, **values: Any) -> Self | None:
        """:meth:`get` with ``await``: the same request, result and errors.

        Example:
            >>> await Customer.aget(customer_id="c1")  # doctest: +SKIP
        """
        return await aget_item(cls, cls.key(**values), consistent=consistent)

    async def arefresh(self, *, consistent: bool = True) -> None:
        """:meth:`refresh` with ``await``."""
        await arefresh_entity(self, consistent=consistent)

    async def asave(self, *, condition: Condition | None = None) -> None:
        """:meth:`save` with ``await``: checked in full before anything is sent, the same
        version condition and :class:`~dynaorm.VersionConflict`.

        Example:
            >>> await order.asave()  # doctest: +SKIP
        """
        self._assert_complete()
        await aexecute(put_plan(self, condition))

    async def adelete(self, *, condition: Condition | None = None) -> None:
        """:meth:`delete` with ``await``."""
        await aexecute(delete_plan(type(self), self.item_key, condition, instance=self))

    async def aupdate(
        self,
        *actions: Action,
        condition: Condition | None = None,
        return_values: ReturnValues = "ALL_NEW",
    ) -> Any:
        """:meth:`update` with ``await``: the same request (index keys rewritten in step),
        the same reload of this instance and the same result.

        Example:
            >>> await order.aupdate(Order.status.set("PAID"))  # doctest: +SKIP
        """
        plan = update_plan(
            type(self),
            self.item_key,
            actions,
            condition=condition,
            instance=self,
            return_values=return_values,
        )
        return await aexecute(plan)

    @classmethod
    async def aupdate_by_key(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = None,
        return_values: ReturnValues = "ALL_NEW",
    ) -> Any:
        """:meth:`update_by_key` with ``await``.

        Example:
            >>> await Product.aupdate_by_key(Product.key(sku="s1"), Product.stock.add(-2))
            ... # doctest: +SKIP
        """
        plan = update_plan(cls, key, actions, condition=condition, return_values=return_values)
        return await aexecute(plan)

    @classmethod
    async def amutate(
        cls,
        fn: Callable[[Self], object],
        /,
        *,
        attempts: int | None = None,
        policy: RetryPolicy | None = None,
        on_conflict: Callable[[VersionConflict, int], object] | None = None,
        **key_values: Any,
    ) -> Self:
        """:meth:`mutate` with ``await``: read consistently, apply ``fn`` (a plain function),
        save; retried on version conflicts, waiting with ``asyncio.sleep``.

        Example:
            >>> await Account.amutate(lambda a: setattr(a, "balance", a.balance + 5),
            ...                       account_id="a1")  # doctest: +SKIP
        """
        return await amutate_entity(
            cls, fn, key_values, attempts=attempts, policy=policy, on_conflict=on_conflict
        )

    # -- queries and scans -------------------------------------------------------------------

    @classmethod
    def query(cls, **partition_values: Any) -> Query[Self]:
        """Query this entity's items in one partition of its primary key.

        The sort key is restricted to the template's constant prefix (``ORDER#``) and the
        entity type is filtered, so only this entity's items come back. Query an index with
        ``Order.by_status.query(status="PAID")``.

        Args:
            **partition_values: The fields of the primary partition-key template.

        Returns:
            A :class:`~dynaorm.Query`; refine it with ``range()``, ``where()``, ``select()``,
            ``limit()``, ``page_size()``, ``reverse()``, ``consistent()``, ``after(cursor)``.

        Raises:
            ValidationError: A partition value is missing, unexpected or unusable.

        Example:
            >>> q = Order.query(customer_id="c1").where(Order.total > 100).limit(20)
            ... # doctest: +SKIP
            >>> page = q.page(); q.after(page.cursor).page()  # doctest: +SKIP
        """
        check_concrete(cls)
        return cls._query_key(cls.__primary__, partition_values)

    @classmethod
    def _query_key(cls, key: BoundKey[Any], partition_values: dict[str, Any]) -> Query[Self]:
        """The query of ``key``'s partition: what ``Entity.query`` and ``BoundKey.query`` run
        (a key, defined in the model layer, calls up through its entity class)."""
        return Query.create(cls, key, partition_values)

    @classmethod
    def _scatter_key(
        cls, key: BoundKey[Any], partition_values: dict[str, Any]
    ) -> ShardedQuery[Self]:
        """The scatter-gather query over every shard of ``key``'s partition (what
        ``BoundKey.scatter`` runs)."""
        query: ShardedQuery[Self] = ShardedQuery.for_entity(cls, key, partition_values)
        return query

    @classmethod
    def scan(cls, *, index: str | None = None) -> Scan[Self]:
        """Scan the table (or ``index``) for this entity's items (filtered by entity type).

        Returns:
            A :class:`~dynaorm.Scan`; ``.segments(4)`` runs it in parallel,
            ``.rate_limit(units)`` paces it, ``.resume(checkpoint)`` continues one.

        Raises:
            ConfigurationError: The entity is abstract or the table has no such index.
            ValidationError: The index is ``KEYS_ONLY`` (it cannot hold the type attribute).

        Example:
            >>> for order in Order.scan().where(Order.total > 100).segments(4):  # doctest: +SKIP
            ...     print(order)
        """
        return Scan.of_entity(cls, index=index)
