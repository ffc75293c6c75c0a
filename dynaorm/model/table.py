"""The physical table: key attributes, indexes, lifecycle, and the entities that share it."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import ConfigurationError, TableNotFound, UnknownEntityType
from dynaorm.base.settings import Settings, current_settings, environment_inputs, replacing_secrets
from dynaorm.keys.collisions import templates_may_collide
from dynaorm.keys.templates import DEFAULT_DELIMITER
from dynaorm.model.decode import UNKNOWN_POLICIES, UnknownPolicy, classified, decode_whole
from dynaorm.model.indexes import Index
from dynaorm.model.schema import (
    check_fixable,
    create_table_request,
    gsi_create_update,
    schema_mismatches,
)
from dynaorm.wire.retry import RetryPolicy
from dynaorm.wire.transport import Transport

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dynaorm.bulk.batch_get import Selectable
    from dynaorm.bulk.batch_write import BatchWriter
    from dynaorm.bulk.batching import ProgressCallback
    from dynaorm.bulk.transactions import Transaction
    from dynaorm.model.bound_keys import BoundKey, ItemKey
    from dynaorm.model.decode import UnknownItem
    from dynaorm.model.entity import Entity
    from dynaorm.read.collection import CollectionQuery, ItemCollection
    from dynaorm.read.scan import Scan
    from dynaorm.read.streams import Change

__all__ = ["Table", "TableBinding", "bind"]

BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]


class _TransportSlot:
    """A transport kept with the inputs it was made from (see ``Table.transport``)."""

    __slots__ = ("inputs", "transport")

    def __init__(self) -> None:
        self.transport: Transport | None = None
        self.inputs: tuple[Any, ...] = (None, None, ())


class _Override:
    """What one ``table.override(...)`` block changes, for the context it runs in."""

    __slots__ = ("_base", "_settings", "changes", "name", "slot")

    def __init__(self, name: str | None, changes: dict[str, Any]) -> None:
        self.name = name
        self.changes = changes
        self.slot = _TransportSlot()
        self._base: Settings | None = None
        self._settings: Settings | None = None

    def settings_over(self, base: Settings) -> Settings:
        """The table's settings ``base`` with this override's changes (worked out once per
        ``base``)."""
        if not self.changes:
            return base
        if self._base is not base or self._settings is None:
            self._settings = attrs.evolve(base, **self.changes)
            self._base = base
        return self._settings


class TableBinding:
    """A table as the context it was bound in sees it: the physical name, settings and
    transport of the :meth:`Table.override` in force then (none: the table's own).

    A read binds when it starts running, a batch writer or transaction when it is opened;
    every request they send (from any thread, inside or outside the block) then goes to the
    same table, and their cursors are signed with the same keys. The transport is resolved
    on first use, once (so building a request, e.g. ``compile()``, needs no connection).
    """

    __slots__ = ("_override", "_transport", "name", "table")

    def __init__(self, table: Table, override: _Override | None) -> None:
        self.table = table
        self._override = override
        self.name = table._name if override is None or override.name is None else override.name
        self._transport: Transport | None = None

    @property
    def settings(self) -> Settings:
        """The table's settings with the bound override's changes."""
        return self.table._settings_in(self._override)

    @property
    def transport(self) -> Transport:
        """The bound transport (resolved on first use, then kept)."""
        transport = self._transport
        if transport is None:
            transport = self._transport = self.table._transport_in(self._override)
        return transport


def bind(table: Table) -> TableBinding:
    """``table`` as the current context sees it (its :meth:`Table.override`, if any), kept
    whatever the context does later."""
    return TableBinding(table, table._overrides.get())


class Table:
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
            entity (or that has none); returns the entity class the item is (read as
            such), or ``None`` (the item is unknown).

    Example:
        >>> shop = Table("shop", pk="PK", sk="SK",
        ...              indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])
        >>> shop.key_attributes
        ('PK', 'SK', 'GSI1PK', 'GSI1SK')
    """

    def __init__(
        self,
        name: str,
        *,
        pk: str = "PK",
        sk: str | None = "SK",
        indexes: Sequence[Index] = (),
        billing_mode: BillingMode = "PAY_PER_REQUEST",
        read_capacity: int | None = None,
        write_capacity: int | None = None,
        ttl_attribute: str | None = None,
        type_attribute: str = "_type",
        delimiter: str = DEFAULT_DELIMITER,
        retry_policy: RetryPolicy | None = None,
        settings: Settings | None = None,
        unknown_items: UnknownPolicy = "keep",
        classify: Callable[[Mapping[str, Any]], type[Entity] | None] | None = None,
    ) -> None:
        if not name:
            raise ConfigurationError("a table needs a name")
        if billing_mode not in ("PAY_PER_REQUEST", "PROVISIONED"):
            raise ConfigurationError(
                f"billing_mode must be PAY_PER_REQUEST or PROVISIONED, not {billing_mode!r}"
            )
        if len(delimiter) != 1:
            raise ConfigurationError(
                f"table {name!r}: the key delimiter must be a single character, got {delimiter!r}"
            )
        if unknown_items not in UNKNOWN_POLICIES:
            raise ConfigurationError(
                f"table {name!r}: unknown_items must be one of {', '.join(UNKNOWN_POLICIES)}, "
                f"not {unknown_items!r}"
            )
        if classify is not None and not callable(classify):
            raise ConfigurationError(f"table {name!r}: classify must be callable or None")
        if billing_mode == "PAY_PER_REQUEST" and (read_capacity or write_capacity):
            raise ConfigurationError("capacities apply only to billing_mode='PROVISIONED'")
        self._overrides: contextvars.ContextVar[_Override | None] = contextvars.ContextVar(
            f"dynaorm-override-{name}", default=None
        )
        self._name = name
        self.pk = pk
        self.sk = sk
        # Entity reads filter on the type attribute, so an INCLUDE index must hold it.
        self.indexes: tuple[Index, ...] = tuple(i.projecting(type_attribute) for i in indexes)
        self.billing_mode: BillingMode = billing_mode
        self.read_capacity = read_capacity
        self.write_capacity = write_capacity
        self.ttl_attribute = ttl_attribute
        self.type_attribute = type_attribute
        self.delimiter = delimiter
        self._retry_policy = retry_policy
        self._settings = settings or Settings()
        self.unknown_items: UnknownPolicy = unknown_items
        self.classify = classify
        self.entities: dict[str, type[Entity]] = {}
        self._slot = _TransportSlot()
        self._lock = threading.Lock()
        self._check_definition()

    def __repr__(self) -> str:
        return f"Table({self.name!r}, entities={sorted(self.entities)})"

    def _check_definition(self) -> None:
        seen: set[str] = set()
        for index in self.indexes:
            if index.name in seen:
                raise ConfigurationError(f"table {self.name!r}: index {index.name!r} is repeated")
            seen.add(index.name)
            if index.local and self.sk is None:
                raise ConfigurationError(
                    f"table {self.name!r}: local index {index.name!r} needs a table with a sort key"
                )
        names = [self.pk, *([self.sk] if self.sk else [])]
        names += [a for i in self.indexes for a in i.key_attributes]
        if len(names) != len(set(names)):
            raise ConfigurationError(
                f"table {self.name!r}: each key attribute must belong to one key; got {names}"
            )
        if self.type_attribute in names:
            raise ConfigurationError(
                f"table {self.name!r}: type_attribute {self.type_attribute!r} is a key attribute"
            )

    # -- definitions -----------------------------------------------------------------------

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """Every attribute the table or one of its indexes uses as a key."""
        names = [self.pk, *([self.sk] if self.sk else [])]
        return tuple(names + [a for i in self.indexes for a in i.key_attributes])

    @property
    def reserved_attributes(self) -> frozenset[str]:
        """Attribute names an entity may not declare: keys and the entity-type attribute."""
        return frozenset({*self.key_attributes, self.type_attribute})

    def index(self, name: str) -> Index:
        """The index called ``name``.

        Raises:
            ConfigurationError: The table has no such index.
        """
        for index in self.indexes:
            if index.name == name:
                return index
        known = ", ".join(i.name for i in self.indexes) or "none"
        raise ConfigurationError(f"table {self.name!r} has no index {name!r} (indexes: {known})")

    def register(self, entity: type[Entity]) -> None:
        """Add an entity class to the table (done by ``class X(Entity, table=...)``).

        Raises:
            ConfigurationError: The type name is taken, or the entity's primary key templates
                could produce a key another entity's templates also produce.
        """
        type_name = entity.__type_name__
        with self._lock:
            if type_name in self.entities:
                other = self.entities[type_name]
                raise ConfigurationError(
                    f"table {self.name!r}: entity type name {type_name!r} is used by both "
                    f"{other.__qualname__} and {entity.__qualname__}; pass type_name= to one"
                )
            mine = entity.__primary__
            for other in self.entities.values():
                theirs = other.__primary__
                pk_clash = templates_may_collide(mine.pk, theirs.pk)
                sk_clash = (
                    mine.sk is None
                    or theirs.sk is None
                    or templates_may_collide(mine.sk, theirs.sk)
                )
                if pk_clash and sk_clash:
                    raise ConfigurationError(
                        f"table {self.name!r}: the primary keys of {entity.__qualname__} "
                        f"({mine.describe()}) and {other.__qualname__} ({theirs.describe()}) "
                        "can produce the same key; give one of them a distinct constant prefix"
                    )
            self.entities[type_name] = entity

    def changes(self, records: Any) -> list[Change]:
        """Decode DynamoDB Streams records of this table: a Lambda event, a ``GetRecords``
        response, or a list of records (see :func:`dynaorm.decode_stream_records`).

        Example:
            >>> for change in shop.changes(event):  # doctest: +SKIP
            ...     print(change.event, change.keys, change.new)
        """
        from dynaorm.read.streams import decode_stream_records

        return decode_stream_records(self, records)

    def entity_for(self, item: Mapping[str, Any]) -> type[Entity]:
        """The entity class a raw item belongs to, from its entity-type attribute (or, for an
        item whose type names no registered entity, the ``classify`` hook).

        Raises:
            UnknownEntityType: No registered entity has the item's type (nor claims it).
        """
        raw = item.get(self.type_attribute)
        type_name = raw.get("S") if isinstance(raw, Mapping) else None
        entity = self.entities.get(type_name) if type_name is not None else None
        if entity is None:
            entity = classified(self, item)
        if entity is None:
            keys = {k: item[k] for k in (self.pk, self.sk) if k and k in item}
            what = f"type {type_name!r}" if type_name else f"no {self.type_attribute!r} attribute"
            raise UnknownEntityType(
                f"table {self.name!r}: item {keys} has {what}; known types: "
                f"{', '.join(sorted(self.entities)) or 'none'}",
                type_name=type_name,
                item=item,
            )
        return entity

    def from_item(self, item: Mapping[str, Any]) -> Entity:
        """Build the right entity instance from a raw item.

        Raises:
            UnknownEntityType: No registered entity has the item's type, or the item is not
                stored under the key its entity builds from its attributes.
        """
        return decode_whole(self.entity_for(item), item)  # type: ignore[return-value]

    # -- name and connection ---------------------------------------------------------------

    @property
    def name(self) -> str:
        """The physical table name: the one given, or an :meth:`override`'s in its block.

        Assigning it renames the table for every thread at once (as :meth:`configure` does
        for settings); an :meth:`override` block in progress keeps its own name.
        """
        override = self._overrides.get()
        if override is None or override.name is None:
            return self._name
        return override.name

    @name.setter
    def name(self, value: str) -> None:
        if not value:
            raise ConfigurationError("a table needs a name")
        self._name = value

    @property
    def settings(self) -> Settings:
        """This table's own settings (unset fields come from :func:`dynaorm.configure` and
        the environment), with the changes of an :meth:`override` in its block.

        Assigning them (or calling :meth:`configure`) changes them for every thread.
        """
        return self._settings_in(self._overrides.get())

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value
        self._slot.transport = None

    def configure(self, **settings: Any) -> None:
        """Change this table's connection settings (fields of :class:`~dynaorm.Settings`), for
        every thread and for good, e.g. to rotate credentials.

        The old settings' client is released once nothing uses it (see
        :func:`dynaorm.configure`), so rotating credentials does not grow memory. Inside an
        :meth:`override` block its own changes still win.

        Example:
            >>> shop.configure(read_timeout=5.0)  # doctest: +SKIP
        """
        self.settings = attrs.evolve(self._settings, **replacing_secrets(settings))

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force: the one given to the table (or assigned), else the one
        the standard AWS retry settings describe, else dynaorm's default.

        Assigning a policy makes it this table's for every later request; assigning ``None``
        returns to the AWS settings.

        Without an explicit policy, reading it resolves the table's connection settings (the
        shared config file is read per profile), so it needs what a request needs: a region.

        Raises:
            ConfigurationError: An AWS retry setting is invalid, or no region is configured
                (both only without an explicit policy).
        """
        if self._retry_policy is not None:
            return self._retry_policy
        return self.transport.policy

    @retry_policy.setter
    def retry_policy(self, value: RetryPolicy | None) -> None:
        self._retry_policy = value

    @property
    def transport(self) -> Transport:
        """Sends this table's requests (rebuilt when settings change)."""
        return self._transport_in(self._overrides.get())

    def _settings_in(self, override: _Override | None) -> Settings:
        return self._settings if override is None else override.settings_over(self._settings)

    def _transport_in(self, override: _Override | None) -> Transport:
        """The transport under ``override`` (``None``: the table's own)."""
        if override is None:
            own, slot = self._settings, self._slot
        else:
            own, slot = override.settings_over(self._settings), override.slot
        # Resolving settings costs more than a request's own client-side work, so the result
        # is reused while the inputs are the very same objects.
        inputs = (own, current_settings(), environment_inputs())
        cached = slot.transport
        previous = slot.inputs
        explicit = self._retry_policy
        if (
            cached is not None
            and cached.explicit_policy is explicit
            and inputs[0] is previous[0]
            and inputs[1] is previous[1]
            and inputs[2] == previous[2]
        ):
            return cached
        settings = own.merged_over(inputs[1]).resolved()
        # A changed retry_policy attribute applies to later requests, as it does to batches;
        # so does a changed AWS retry setting.
        if (
            cached is None
            or cached.settings != settings
            or cached.explicit_policy is not explicit
            or inputs[2][4:] != previous[2][4:]
        ):
            cached = Transport(settings, explicit)
        slot.transport = cached
        slot.inputs = inputs
        return cached

    @contextlib.contextmanager
    def override(self, *, name: str | None = None, **settings: Any) -> Iterator[Table]:
        """Use another physical name and/or settings for the code inside the ``with`` block.

        The override is scoped to the calling context (:mod:`contextvars`): it holds for the
        code the block runs and for the worker threads dynaorm starts from there (batch
        writers and readers, scan segments, read-ahead), and for nothing else — another
        thread using the same table at the same time still reaches the original table with
        the original settings. Overrides nest; the innermost wins. To change a table for
        every thread, assign :attr:`name` or call :meth:`configure` instead.

        A query or scan object is lazy and binds to the table as it is when it starts
        running (``page()``, ``iter()``, ``pages()``, ``count()``); an iterator, a batch
        writer or a transaction keeps the table it started (or was opened) with, even after
        the block has ended.

        Args:
            name: The physical table name inside the block (``None``: unchanged).
            **settings: Fields of :class:`~dynaorm.Settings` to change inside the block.

        Raises:
            TypeError: A keyword is not a field of :class:`~dynaorm.Settings`.

        Example:
            >>> with shop.override(name="shop-copy"):  # doctest: +SKIP
            ...     shop.create()
        """
        attrs.evolve(self._settings, **settings)  # an unknown field fails here, not later
        outer = self._overrides.get()
        changes = {**(outer.changes if outer is not None else {}), **replacing_secrets(settings)}
        if name is None and outer is not None:
            name = outer.name
        token = self._overrides.set(_Override(name, changes))
        try:
            yield self
        finally:
            try:
                self._overrides.reset(token)
            except ValueError:  # the block was left in another context than it was entered
                self._overrides.set(outer)

    def call(self, operation: str, request: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """Send a raw request through this table's transport (retries, error translation)."""
        return self.transport.call(operation, request, idempotent=idempotent)

    # -- lifecycle -------------------------------------------------------------------------

    def create_request(self) -> dict[str, Any]:
        """The CreateTable request :meth:`create` sends."""
        return create_table_request(self)

    def create(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Create the table and its indexes; with ``wait``, return once all are ACTIVE.

        Raises:
            ServiceError: The table exists already (``ResourceInUseException``) or the request
                was refused.
        """
        self.call("CreateTable", self.create_request(), idempotent=False)
        if wait:
            self.wait_until_active(timeout=timeout)
        if self.ttl_attribute:
            self._enable_ttl()

    def _enable_ttl(self) -> None:
        self.call(
            "UpdateTimeToLive",
            {
                "TableName": self.name,
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": self.ttl_attribute},
            },
            idempotent=True,
        )

    def ensure(self, *, wait: bool = True, timeout: float = 300.0) -> bool:
        """Create the table if it is missing; otherwise check it and add missing global indexes.

        Returns:
            True when the table was created.

        Raises:
            SchemaMismatch: The live table differs from the definition in something that
                cannot be changed in place: its keys or their types, or an index's key schema,
                key types, projection type or projected attributes, or a local index is
                missing. The error lists every difference (``.differences``); nothing is
                changed.
        """
        try:
            described = self.describe()
        except TableNotFound:
            self.create(wait=wait, timeout=timeout)
            return True
        problems, missing = schema_mismatches(self, described)
        check_fixable(self, problems)
        for index in missing:
            self.wait_until_active(timeout=timeout)
            self.call("UpdateTable", gsi_create_update(self, index), idempotent=False)
        if wait:
            self.wait_until_active(timeout=timeout)
        return False

    def describe(self) -> dict[str, Any]:
        """The ``Table`` member of DescribeTable.

        Raises:
            TableNotFound: The table does not exist.
        """
        response = self.call("DescribeTable", {"TableName": self.name}, idempotent=True)
        table: dict[str, Any] = response["Table"]
        return table

    def exists(self) -> bool:
        """True when the table exists (in any status)."""
        try:
            self.describe()
        except TableNotFound:
            return False
        return True

    def wait_until_active(self, *, timeout: float = 300.0) -> None:
        """Poll until the table and all its global indexes are ACTIVE.

        Raises:
            TimeoutError: Not active within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            described = self.describe()
            statuses = [described.get("TableStatus")] + [
                g.get("IndexStatus") for g in described.get("GlobalSecondaryIndexes", [])
            ]
            if all(status == "ACTIVE" for status in statuses):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.name!r} not ACTIVE after {timeout}s: {statuses}")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def delete(
        self, *, wait: bool = True, missing_ok: bool = False, timeout: float = 300.0
    ) -> None:
        """Delete the table; with ``wait``, return once it is gone.

        Raises:
            TableNotFound: The table does not exist and ``missing_ok`` is false.
        """
        try:
            self.call("DeleteTable", {"TableName": self.name}, idempotent=False)
        except TableNotFound:
            if missing_ok:
                return
            raise
        if not wait:
            return
        deadline = time.monotonic() + timeout
        delay = 0.05
        while self.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.name!r} still exists after {timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    # -- queries, item collections and scans (facades over dynaorm.query) ------------------

    def partition(
        self,
        key: BoundKey[Any],
        /,
        *,
        types: Iterable[type[Entity]] | None = None,
        consistent: bool = False,
        strict: bool | None = None,
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
        query = self.partition_query(key, types=types, strict=strict, **partition_values)
        return query.consistent(consistent).fetch()

    def partition_query(
        self,
        key: BoundKey[Any],
        /,
        *,
        types: Iterable[type[Entity]] | None = None,
        strict: bool | None = None,
        **partition_values: Any,
    ) -> CollectionQuery:
        """The lazy form of :meth:`partition`: a query object to page through, filter, limit.

        Raises:
            ValidationError: As for :meth:`partition`.

        Example:
            >>> page = shop.partition_query(Customer.primary, customer_id="c1").limit(50).page()
            ... # doctest: +SKIP
        """
        from dynaorm.read.collection import CollectionQuery

        return CollectionQuery.create(self, key, partition_values, types=types, strict=strict)

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
        from dynaorm.read.scan import Scan

        return Scan.of_table(self, types=types, index=index, strict=strict)

    # -- batches and transactions (facades over dynaorm.batch / dynaorm.transactions) ------

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
        from dynaorm.bulk.batch_write import BatchWriter

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
        from dynaorm.bulk.batch_get import batch_get

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
        from dynaorm.bulk.transactions import Transaction

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
        from dynaorm.bulk.transact_get import transact_get

        return transact_get(self, keys, select=select)
