"""The public :class:`Table`: a table definition with its connection and lifecycle, and the
reads, batches and transactions over all of its entity types."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from dynaorm.api.async_batches import AsyncBatchMethods
from dynaorm.api.async_table import AsyncTableMethods
from dynaorm.bulk.batch_get import batch_get
from dynaorm.bulk.batch_write import BatchWriter
from dynaorm.bulk.transact_get import transact_get
from dynaorm.bulk.transactions import Transaction
from dynaorm.keys.ranges import SortKeyCondition
from dynaorm.read.collection import CollectionQuery
from dynaorm.read.scan import Scan
from dynaorm.read.sharded import ShardedQuery
from dynaorm.read.streams import decode_stream_records
from dynaorm.wire.lifecycle import ManagedTable
from dynaorm.wire.retry import RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.bulk.batch_get import Selectable
    from dynaorm.bulk.batching import ProgressCallback
    from dynaorm.model.bound_keys import BoundKey, ItemKey
    from dynaorm.model.unknown_items import UnknownItem
    from dynaorm.read.collection import ItemCollection
    from dynaorm.read.streams import Change

__all__ = ["Table"]


class Table(AsyncTableMethods, AsyncBatchMethods, ManagedTable):
    """One physical DynamoDB table shared by many entity types.

    Args:
        name: The table name.
        pk: Partition-key attribute name.
        sk: Sort-key attribute name (``None`` for a table without one).
        indexes: Secondary indexes. The type attribute is added to the projected attributes
            of every ``INCLUDE`` index, so entity reads on it can be filtered by type.
        billing_mode: ``"PAY_PER_REQUEST"`` (default) or ``"PROVISIONED"``.
        read_capacity: Provisioned read capacity of the table.
        write_capacity: Provisioned write capacity of the table.
        ttl_attribute: Attribute holding expiry times; TTL is enabled on it by :meth:`create`.
        type_attribute: Attribute that records each item's entity type.
        delimiter: The one-character key-template delimiter values may never contain.
        retry_policy: How requests are retried (throttling, failures, unprocessed batch
            items) and the deadline of each call. ``None`` (the default): the policy the
            standard AWS retry settings describe (``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``, or
            ``max_attempts``/``retry_mode`` of the profile in the shared config file), and
            dynaorm's default policy without them. An explicit policy always wins.
        settings: Connection settings for this table; unset fields come from
            :func:`dynaorm.configure` and the environment.
        unknown_items: What reads do with an item no entity claims (no type attribute, or a
            type naming no registered entity): ``"keep"`` (default) keeps it as an
            :class:`~dynaorm.UnknownItem` record (among the results of mixed reads, on
            ``page.unknown`` of entity queries and scans, with a warning), ``"raise"``
            raises :class:`~dynaorm.UnknownEntityType`. Reads of one item by key (``get``,
            ``refresh``) always raise. See "Unknown items" in docs/queries.md.
        classify: Called with each raw item whose type attribute names no registered
            entity (or that has none); returns the entity class the item is (or its type
            name; read as such), or ``None`` (the item is unknown). The rules
            :func:`~dynaorm.by_prefix`, :func:`~dynaorm.by_attribute` and
            :func:`~dynaorm.first_match` make one from key prefixes or a discriminator.
        store_type: Write the type attribute (default). ``False`` for a table whose items
            are told apart by ``classify`` alone (an adopted table): writes leave the type
            attribute out, and entity reads filter by classifying each item, not on the
            server. Needs ``classify``.
        preserve_items: Keep what an item holds beyond the entity's declared attributes
            (another tool's bookkeeping attributes, such as ElectroDB's ``__edb_v__``) on the
            instance read and write it back on ``save()``, and leave out of the saved item a
            key field that the stored item held only inside its keys; so an item read and
            saved back is unchanged apart from what was changed.
        store_key_fields: Store each key-template field as an attribute of its own beside the
            keys (default). ``False``, as published single-table designs store items: a
            field whose value a key attribute of the item gives back (parsed) is left out,
            restored by every read, kept in step by updates; conditions and filters on such
            a field are refused. An entity may override it with the class keyword
            ``store_key_fields=`` (see "Key fields only in the keys" in docs/modeling.md).

    Example:
        >>> from dynaorm import Index
        >>> shop = Table("shop", pk="PK", sk="SK",
        ...              indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])
        >>> shop.key_attributes
        ('PK', 'SK', 'GSI1PK', 'GSI1SK')
    """

    def changes(self, records: Any) -> list[Change]:
        """Decode DynamoDB Streams records of this table: a Lambda event, a ``GetRecords``
        response, or a list of records (see :func:`dynaorm.decode_stream_records`).

        Example:
            >>> for change in shop.changes(event):  # doctest: +SKIP
            ...     print(change.event, change.keys, change.new)
        """
        return decode_stream_records(self, records)

    # -- item collections and scans (dynaorm.read.collection, dynaorm.read.scan) ------------

    def partition(
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
        """Read a whole item collection: every item sharing ``key``'s partition, typed.

        Args:
            key: A key of an entity of this table; its partition template (and index, if it
                has one) decides which partition is read, e.g. ``Customer.primary``.
            types: Read only these entity types (filtered on the server).
            consistent: Strongly consistent read (not on global indexes).
            strict: Raise for unknown items (no type attribute, or a type naming no
                registered entity) instead of keeping them in ``ItemCollection.unknown``;
                ``None`` follows the table's ``unknown_items`` policy.
            range: Only items whose sort key passes this ``sort_key`` condition
                (``sort_key.between("i#2020-06-01", "i#2020-06-15")``); for conditions on
                a template's fields use ``partition_query(...).range(...)``.
            **partition_values: The fields of ``key``'s partition template.

        Returns:
            An :class:`~dynaorm.ItemCollection`: ``result.items`` in key order,
            ``result[Order]`` for one type, ``result.unknown`` for unclaimed items.

        Raises:
            ValidationError: ``key`` or a type does not belong to this table, or a partition
                value is missing, unexpected or unusable.
            UnknownEntityType: ``strict`` and an item's type is unknown.

        Example:
            >>> result = shop.partition(Customer.primary, customer_id="c1")  # doctest: +SKIP
            >>> result.first(Customer), result[Order]  # doctest: +SKIP
        """
        query = self.partition_query(
            key, types=types, strict=strict, range=range, **partition_values
        )
        return query.consistent(consistent).fetch()

    def partition_query(
        self,
        key: BoundKey[Any],
        /,
        *,
        types: Iterable[type[Entity]] | None = None,
        strict: bool | None = None,
        range: SortKeyCondition | None = None,
        **partition_values: Any,
    ) -> CollectionQuery:
        """The lazy form of :meth:`partition`: a query object to page through, filter, limit.

        Raises:
            ValidationError: As for :meth:`partition`.

        Example:
            >>> page = shop.partition_query(Customer.primary, customer_id="c1").limit(50).page()
            ... # doctest: +SKIP
        """
        query = CollectionQuery.create(self, key, partition_values, types=types, strict=strict)
        return query if range is None else query.range(range)

    def scatter(
        self,
        key: BoundKey[Any],
        /,
        *,
        types: Iterable[type[Entity]] | None = None,
        strict: bool | None = None,
        range: SortKeyCondition | None = None,
        **partition_values: Any,
    ) -> ShardedQuery[Entity | UnknownItem]:
        """Read every shard of a sharded key's item collection (all types), merged in
        sort-key order: :meth:`partition_query` over each shard, as one read.

        Raises:
            ValidationError: ``key`` has no shard field, or as for :meth:`partition`.

        Example:
            >>> shop.scatter(Order.by_day, day="2024-05-01").limit(50).page()  # doctest: +SKIP
        """
        query = ShardedQuery.for_collection(self, key, partition_values, types=types, strict=strict)
        return query if range is None else query.range(range)

    def scan(
        self,
        *,
        types: Iterable[type[Entity]] = (),
        index: str | None = None,
        strict: bool | None = None,
    ) -> Scan[Entity | UnknownItem]:
        """A scan of every item of the table (or of ``index``), typed.

        Args:
            types: Only these entity types (filtered on the server).
            index: Scan this secondary index instead of the table.
            strict: Raise for unknown items instead of yielding
                :class:`~dynaorm.UnknownItem` records; ``None`` follows the table's
                ``unknown_items`` policy.

        Returns:
            A :class:`~dynaorm.Scan`; ``.segments(4)`` runs it in parallel.

        Raises:
            ValidationError: A type is not an entity of this table.
            ConfigurationError: The table has no such index.

        Example:
            >>> for item in shop.scan().segments(4):  # doctest: +SKIP
            ...     print(item)
        """
        return Scan.of_table(self, types=types, index=index, strict=strict)

    # -- batches and transactions (dynaorm.bulk) ------------------------------------------

    def batch_write(
        self,
        *,
        workers: int = 1,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> BatchWriter:
        """A context manager that writes puts and deletes of any entity of this table in
        ``BatchWriteItem`` requests of 25, retrying unprocessed items with backoff.

        Writes are sent only while the block runs cleanly and at its end; if the block raises,
        nothing more is sent. See :class:`~dynaorm.BatchWriter` for same-key writes,
        versioned entities and failures.

        Args:
            workers: Requests in flight at once (a thread pool when more than 1).
            policy: Retry policy; this table's ``retry_policy`` when ``None``.
            progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

        Returns:
            The :class:`~dynaorm.BatchWriter`; ``batch.result`` reports what it did.

        Raises:
            BatchIncomplete: The policy ran out (raised by ``put``/``delete`` or when the
                block ends): writes not applied are in ``.unprocessed``, writes of unknown
                outcome (sent, no answer) in ``.unknown``; ``batch.result`` has the same.
            ValidationError: ``workers`` < 1; from ``put``/``delete``: see BatchWriter.

        Example:
            >>> with shop.batch_write(workers=4) as batch:  # doctest: +SKIP
            ...     batch.put(order)
            ...     batch.delete(Order.key(customer_id="c1", order_id="o0"))
        """
        return BatchWriter(self, workers=workers, policy=policy, progress=progress)

    def batch_get(
        self,
        keys: Iterable[ItemKey | Entity],
        *,
        consistent: bool = False,
        select: Sequence[Selectable] | None = None,
        workers: int = 1,
        policy: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Entity | UnknownItem | None]:
        """Read items of any entity of this table by key, in ``BatchGetItem`` requests of 100.

        Unprocessed keys are retried with backoff under ``policy``, never without bound.

        Args:
            keys: :class:`~dynaorm.ItemKey` objects (``Order.key(...)``) or entity instances.
            consistent: Strongly consistent reads.
            select: Attributes to read (attributes, paths or names); the entity type and
                primary key are always read. The results are then partial entities: reading
                an attribute not selected raises :class:`~dynaorm.AttributeNotLoaded`, and
                ``save()`` is refused. ``None`` reads whole items.
            workers: Requests in flight at once (a thread pool when more than 1).
            policy: Retry policy; this table's ``retry_policy`` when ``None``.
            progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

        Returns:
            One entry per requested key, in request order: a typed entity instance (partial
            with ``select``), ``None`` when there is no such item, or an
            :class:`~dynaorm.UnknownItem` when the stored item is not of the key's entity type
            (no type attribute, or another type; ``unknown_items="raise"`` raises
            :class:`~dynaorm.UnknownEntityType` instead). A key requested twice is read once
            and appears at both positions (as two separate instances).

        Raises:
            BatchIncomplete: Keys were still unprocessed when the policy ran out; they are in
                ``.unprocessed`` (ItemKeys).
            ValidationError: Something is not a key or entity of this table.

        Example:
            >>> shop.batch_get([Customer.key(customer_id="c1"),  # doctest: +SKIP
            ...                 Order.key(customer_id="c1", order_id="o1")])
            [Customer(customer_id='c1', ...), None]
        """
        return batch_get(
            self,
            keys,
            consistent=consistent,
            select=select,
            workers=workers,
            policy=policy,
            progress=progress,
        )

    def transaction(
        self, *, token: str | None = None, policy: RetryPolicy | None = None
    ) -> Transaction:
        """A context manager whose actions are written all together or not at all
        (``TransactWriteItems``), committed when the block ends without an exception.

        Args:
            token: The ClientRequestToken (1-36 characters) that makes a re-send apply once;
                a UUID is generated when ``None``.
            policy: Retry policy for the commit; this table's ``retry_policy`` when ``None``.

        Returns:
            The :class:`~dynaorm.Transaction`: ``put``, ``update``, ``delete``, ``check``.

        Raises:
            ValidationError: A bad token; from the actions: more than 100, over 4 MB, two on
                one item (checked before any request).
            TransactionCanceled: At commit: a condition failed or another transaction
                conflicted; ``.reasons`` names the action and entity of each.

        Example:
            >>> with shop.transaction(token="place-o1") as tx:  # doctest: +SKIP
            ...     tx.update(Product.key(sku="s1"), Product.stock.add(-2),
            ...               condition=Product.stock >= 2)
            ...     tx.put(order)
        """
        return Transaction(self, token=token, policy=policy)

    def transact_get(
        self, keys: Iterable[ItemKey | Entity], *, select: Sequence[Selectable] | None = None
    ) -> list[Entity | UnknownItem | None]:
        """Read up to 100 items as of one moment (``TransactGetItems``).

        Args:
            keys: :class:`~dynaorm.ItemKey` objects or entity instances (at most 100 distinct).
            select: Attributes to read (partial entities, as for :meth:`batch_get`);
                ``None`` reads whole items.

        Returns:
            Typed entity instances (partial with ``select``; ``None`` for missing items; an
            :class:`~dynaorm.UnknownItem` for an item not of its key's type, as in
            :meth:`batch_get`), in request order.

        Raises:
            ValidationError: More than 100 distinct keys, or a key of another table.
            TransactionCanceled: A concurrent transaction touched the items; retry.

        Example:
            >>> customer, order = shop.transact_get(  # doctest: +SKIP
            ...     [Customer.key(customer_id="c1"), Order.key(customer_id="c1", order_id="o1")])
        """
        return transact_get(self, keys, select=select)
