"""The table definition: name, key attributes, indexes, and the entities that share it.

A :class:`TableDefinition` is data: what the table is, which entity types live in it, and
how a raw item is classified. Talking to the server is added above it
(:mod:`dynaorm.wire.connection`, :mod:`dynaorm.wire.lifecycle`), and the public
:class:`dynaorm.Table` (:mod:`dynaorm.api.table`) adds reads, batches and transactions.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import ConfigurationError, UnknownEntityType
from dynaorm.base.settings import Settings
from dynaorm.keys.collisions import templates_may_collide
from dynaorm.keys.templates import DEFAULT_DELIMITER
from dynaorm.model.decode import decode_whole
from dynaorm.model.indexes import Index
from dynaorm.model.schema import create_table_request
from dynaorm.model.unknown_items import UNKNOWN_POLICIES, UnknownPolicy, classified

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.wire.retry import RetryPolicy
    from dynaorm.wire.transport import Transport

__all__ = ["BillingMode", "Override", "TableDefinition", "TransportSlot"]

BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]


class TransportSlot:
    """A transport kept with the inputs it was made from (filled by
    :mod:`dynaorm.wire.connection`)."""

    __slots__ = ("inputs", "transport")

    def __init__(self) -> None:
        self.transport: Transport | None = None
        self.inputs: tuple[Any, ...] = (None, None, ())


class Override:
    """What one ``table.override(...)`` block changes, for the context it runs in."""

    __slots__ = ("_base", "_settings", "changes", "name", "slot")

    def __init__(self, name: str | None, changes: dict[str, Any]) -> None:
        self.name = name
        self.changes = changes
        self.slot = TransportSlot()
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


class TableDefinition:
    """What a table is: its name, keys, indexes, and the entity types registered with it
    (the core of :class:`dynaorm.Table`; the arguments are documented there).

    Example:
        >>> from dynaorm import Table
        >>> isinstance(Table("t"), TableDefinition)
        True
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
        classify: Callable[[Mapping[str, Any]], type[Entity] | str | None] | None = None,
        store_type: bool = True,
        preserve_items: bool = False,
        store_key_fields: bool = True,
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
        if not store_type and classify is None:
            raise ConfigurationError(
                f"table {name!r}: store_type=False needs a classify= rule, or items written "
                "without the type attribute could not be read back as entities"
            )
        if billing_mode == "PAY_PER_REQUEST" and (read_capacity or write_capacity):
            raise ConfigurationError("capacities apply only to billing_mode='PROVISIONED'")
        self._overrides: contextvars.ContextVar[Override | None] = contextvars.ContextVar(
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
        self.store_type = bool(store_type)
        self.preserve_items = bool(preserve_items)
        if not isinstance(store_key_fields, bool):
            raise ConfigurationError(
                f"table {name!r}: store_key_fields must be True or False, not {store_key_fields!r}"
            )
        self.store_key_fields = store_key_fields
        self.entities: dict[str, type[Entity]] = {}
        self._slot = TransportSlot()
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
        if self.sk == self.pk:
            raise ConfigurationError(
                f"table {self.name!r}: the partition and sort keys are both {self.pk!r}"
            )
        for index in self.indexes:
            # An index may be keyed on attributes other keys use (the table's sort key, an
            # attribute two indexes sort on), but its own two keys must differ, and a local
            # index sorts on an attribute of its own.
            keys = [index.pk or self.pk, *([index.sk] if index.sk else [])]
            if len(keys) != len(set(keys)):
                raise ConfigurationError(
                    f"table {self.name!r}: index {index.name!r} has {keys[0]!r} as both "
                    "partition and sort key"
                )
            if index.local and index.sk in (self.pk, self.sk):
                raise ConfigurationError(
                    f"table {self.name!r}: local index {index.name!r} must sort on an "
                    f"attribute other than the table's keys, not {index.sk!r}"
                )
        names = self.key_attributes
        if self.type_attribute in names:
            raise ConfigurationError(
                f"table {self.name!r}: type_attribute {self.type_attribute!r} is a key attribute"
            )

    # -- definitions -----------------------------------------------------------------------

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """Every attribute the table or one of its indexes uses as a key, each once."""
        names = [self.pk, *([self.sk] if self.sk else [])]
        return tuple(dict.fromkeys(names + [a for i in self.indexes for a in i.key_attributes]))

    @property
    def primary_attributes(self) -> tuple[str, ...]:
        """The table's own key attributes (partition key, and sort key if any)."""
        return (self.pk, *([self.sk] if self.sk else []))

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
                if mine.assume_disjoint or theirs.assume_disjoint:
                    continue
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
                        "can produce the same key; give one of them a distinct constant prefix, or "
                        "declare Key(..., assume_disjoint=True) if you guarantee their values "
                        "never build the same key"
                    )
            self.entities[type_name] = entity

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

    # -- name ----------------------------------------------------------------------------

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

    def create_request(self) -> dict[str, Any]:
        """The CreateTable request :meth:`create` sends."""
        return create_table_request(self)
