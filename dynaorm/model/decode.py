"""Decoding: the one place a raw item becomes an entity (whole or partial) or an UnknownItem.

Every read path decodes through :class:`Decoder`: ``get``, ``refresh``, ``mutate``,
``batch_get``, ``transact_get``, queries, item collections, scans (single and segmented),
``update(return_values=...)`` and the stored items of failed conditions. A decoder knows what
its request could return (``returned``: the top-level attributes of a projection, or of an
index that does not project everything), and so which attributes it did *not* load.

**Partial entities.** An entity decoded from less than a whole item is *partial*: its
``attribute_values`` is a :class:`PartialValues`, which raises
:class:`~dynaorm.AttributeNotLoaded` for an attribute the read did not load, instead of the
default or ``None`` a whole entity would show. ``to_item()`` and therefore ``save()``,
``Transaction.put`` and ``BatchWriter.put`` refuse it; ``refresh()`` (or an ``update()``, which
returns the whole item) makes it whole. An attribute selected only through nested paths
(``Doc.meta["colour"]``) holds only those members: it reads as such, but makes the entity
partial too (``partly_loaded_attributes``).

**Unknown items.** An item no registered entity claims (no type attribute, or a type naming no
entity, and the table's ``classify`` hook does not claim it), and an item not stored under the
primary key its entity builds from the decoded attributes (a key in another format: ``E#1``
where the template builds ``E#0001``), is never turned into an entity and never dropped
without a trace: per the table's ``unknown_items`` policy it becomes an
:class:`UnknownItem` record (``"keep"``) or raises :class:`~dynaorm.UnknownEntityType`
(``"raise"``). Reads that return one entity (``get``, ``refresh``) always raise.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import (
    AttributeNotLoaded,
    ConfigurationError,
    UnknownEntityType,
    ValidationError as _ValidationError,
)

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.model.table import TableDefinition

__all__ = [
    "UNKNOWN_POLICIES",
    "Decoder",
    "PartialValues",
    "UnknownItem",
    "UnknownPolicy",
    "classified",
    "decode_whole",
    "is_strict",
    "misplaced",
    "reload",
    "report_unknown",
    "restore_key_fields",
]

logger = logging.getLogger("dynaorm")

UnknownPolicy = Literal["keep", "raise"]
UNKNOWN_POLICIES: tuple[str, ...] = ("keep", "raise")


@attrs.frozen
class UnknownItem:
    """An item no entity of the table claims (no type attribute, or a type naming no
    registered entity), or, in a read of one entity type, an item of another type; or an
    item of an entity's type not stored under the key that entity builds from its attributes
    (``E#1`` where ``E#{seq:04d}`` builds ``E#0001``: written by an older template or another
    tool), which as an entity would read, save and delete the item at the other key.

    Reads keep such items as these records (the table's ``unknown_items="keep"`` policy):
    mixed reads (``partition``, ``shop.scan()``, ``batch_get``, ``transact_get``) among their
    results, entity queries and scans on ``page.unknown``.

    Attributes:
        type_name: The stored entity-type value (``None`` when the item has none).
        item: The raw item as DynamoDB returned it.
    """

    type_name: str | None
    item: Mapping[str, Any] = attrs.field(repr=False)


class PartialValues(dict[str, Any]):
    """The ``attribute_values`` of a partial entity: attributes the read did not load raise
    :class:`~dynaorm.AttributeNotLoaded` when read, rather than showing a made-up value.

    Setting such an attribute makes it loaded (it then holds what was set). Attributes read
    only through nested paths (``select(Doc.meta["colour"])``) are *partly* loaded: they read
    as what was selected, but the instance stays partial (it cannot be written whole, or
    turned into a dict) even when they are set, since a new value is likely built from the
    part read; ``refresh()`` reads them whole.
    """

    __slots__ = ("_entity", "_key", "_partly", "_unloaded")

    def __init__(
        self,
        values: Mapping[str, Any],
        *,
        entity: type[Entity],
        unloaded: frozenset[str],
        key: Mapping[str, Any] | Callable[[], dict[str, Any]],
        partly: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(values)
        self._entity = entity
        self._unloaded = unloaded
        self._partly = partly
        # The item's key, for messages: worked out only when one is raised.
        self._key: Mapping[str, Any] | Callable[[], dict[str, Any]] = key

    def _item_key(self) -> dict[str, Any]:
        key = self._key
        return key() if callable(key) else dict(key)

    @property
    def unloaded(self) -> frozenset[str]:
        """The Python names of the attributes neither read nor set since."""
        return frozenset(n for n in self._unloaded if not dict.__contains__(self, n))

    @property
    def partly(self) -> frozenset[str]:
        """The Python names of the attributes read only through nested paths."""
        return self._partly

    def get(self, name: str, default: Any = None) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if name in self._unloaded:
            raise self.not_loaded(name)
        return default

    def __missing__(self, name: str) -> Any:
        if name in self._unloaded:
            raise self.not_loaded(name)
        raise KeyError(name)

    def not_loaded(self, name: str) -> AttributeNotLoaded:
        """The error for reading ``name``."""
        entity = self._entity.__qualname__
        key = self._item_key()
        return AttributeNotLoaded(
            f"{entity} {key}: attribute {name!r} was not loaded (the instance was read "
            f"with select() or through an index that does not project it). Select "
            f"{entity}.{name} too, or refresh() the instance to read it whole.",
            entity=self._entity,
            attribute=name,
            key=key,
        )

    def read_in_part(self, name: str) -> AttributeNotLoaded:
        """The error for using ``name``, read only through nested paths, as a whole value."""
        entity = self._entity.__qualname__
        key = self._item_key()
        return AttributeNotLoaded(
            f"{entity} {key}: attribute {name!r} was read only in part (select() of nested "
            f"paths such as {entity}.{name}[...]): it holds only the selected members, so it "
            f"cannot stand for the whole value. Select {entity}.{name} itself, or refresh() "
            "the instance to read it whole.",
            entity=self._entity,
            attribute=name,
            key=key,
        )

    def __reduce__(self) -> Any:
        return (
            _rebuild_partial,
            (dict(self), self._entity, self._unloaded, self._item_key(), self._partly),
        )


def _rebuild_partial(
    values: dict[str, Any],
    entity: type[Entity],
    unloaded: frozenset[str],
    key: dict[str, Any],
    partly: frozenset[str] = frozenset(),
) -> PartialValues:
    return PartialValues(values, entity=entity, unloaded=unloaded, key=key, partly=partly)


def is_strict(table: Table, strict: bool | None) -> bool:
    """Whether a read raises for unknown items: ``strict`` when given, else the table's
    ``unknown_items`` policy."""
    if strict is not None:
        return bool(strict)
    return getattr(table, "unknown_items", "keep") == "raise"


def _raw_key(table: Table, item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in (table.pk, table.sk):
        value = item.get(name) if name else None
        if isinstance(value, Mapping):
            out[str(name)] = value.get("S", value)
    return out


def restore_key_fields(
    instance: Entity, item: Mapping[str, Any], fields: frozenset[str] | None = None
) -> bool:
    """Fill a partial entity's unset key-template fields from the key attributes it was read
    with, so it still knows its primary key (``item_key``) and index keys.

    Only keys in the form their templates build are read (``KeyTemplate.parse``).

    Args:
        instance: The entity.
        item: The raw item it was decoded from.
        fields: Only keys using one of these fields are parsed (all keys when ``None``).

    Returns:
        True when every primary-key field was unset and is now read from the stored primary
        key: the instance then builds exactly that key, with no need to check it.
    """
    stored = instance.attribute_values
    whole_primary = False
    for key in type(instance).__keys__.values():
        if fields is not None and fields.isdisjoint(key.fields):
            continue
        physical = [a for a in (key.pk_attribute, key.sk_attribute) if a is not None]
        if not all(type(item.get(a)) is dict and "S" in item[a] for a in physical):
            continue
        try:
            values = key.parse(item)
        except _ValidationError:
            continue
        unset = [name for name in values if dict.get(stored, name) is None]
        if key.index is None:
            whole_primary = len(unset) == len(values)
        for name in unset:
            setattr(instance, name, values[name])
    return whole_primary


def classified(table: TableDefinition, item: Mapping[str, Any]) -> type[Entity] | None:
    """The entity the table's ``classify`` hook says ``item`` is (``None``: no hook, or it
    does not claim the item).

    Raises:
        ConfigurationError: The hook returned something that is not an entity of the table.
    """
    classify = getattr(table, "classify", None)
    if classify is None:
        return None
    cls = classify(item)
    if cls is None:
        return None
    if table.entities.get(getattr(cls, "__type_name__", "")) is not cls:
        raise ConfigurationError(
            f"table {table.name!r}: classify returned {cls!r}, which is not an entity of "
            "the table; return one of its entity classes or None"
        )
    return cls


class Decoder:
    """Decodes the items of one read: entities (partial when ``returned`` is less than whole
    items) or :class:`UnknownItem` records, per the unknown-items policy.

    Args:
        table: The table read.
        entities: The entity types the read asks for; ``None`` for any registered entity.
        returned: The top-level attributes the request can return (physical names);
            ``None`` when it returns whole items.
        partly: Those of ``returned`` it returns only in part: selected only through nested
            paths (``Doc.meta["colour"]``). They make the instance partial too.
        assumed: The entity every item is, when the response cannot carry the type
            attribute (an index that does not project it).
        strict: Raise :class:`~dynaorm.UnknownEntityType` for unknown items instead of
            returning :class:`UnknownItem` records.
    """

    __slots__ = (
        "_assumed",
        "_entities",
        "_partly",
        "_returned",
        "_strict",
        "_table",
        "_unloaded",
    )

    def __init__(
        self,
        table: Table,
        *,
        entities: Sequence[type[Entity]] | None = None,
        returned: Iterable[str] | None = None,
        partly: Iterable[str] = (),
        assumed: type[Entity] | None = None,
        strict: bool = False,
    ) -> None:
        self._table = table
        self._entities = tuple(entities) if entities is not None else None
        self._returned = frozenset(returned) if returned is not None else None
        self._partly = frozenset(partly)
        self._assumed = assumed
        self._strict = strict
        # Per entity: the Python names not loaded, and those loaded only in part.
        self._unloaded: dict[type[Entity], tuple[frozenset[str], frozenset[str]]] = {}

    @property
    def partial(self) -> bool:
        """Whether the request returns less than whole items."""
        return self._returned is not None

    def __call__(
        self, item: Mapping[str, Any], expected: type[Entity] | None = None
    ) -> Entity | UnknownItem:
        """Decode one raw item.

        Args:
            item: The item as DynamoDB returned it.
            expected: The entity type this item must be (a read by key); overrides the
                decoder's ``entities``.

        Raises:
            UnknownEntityType: The item is unknown (or of another type than asked) and the
                decoder is strict.
        """
        table = self._table
        cls = self._assumed
        raw_type = item.get(table.type_attribute)
        type_name = raw_type.get("S") if isinstance(raw_type, Mapping) else None
        if cls is None:
            cls = table.entities.get(type_name) if type_name is not None else None
            if cls is None:
                cls = classified(table, item)
        wanted = (expected,) if expected is not None else self._entities
        if cls is None or (wanted is not None and not issubclass(cls, wanted)):
            if self._strict:
                raise self._unknown_error(item, type_name, cls, wanted)
            return UnknownItem(type_name, item)
        instance = cls._from_raw(item)
        # (A partial read that took every primary-key field from the stored key builds it.)
        verified = self._returned is not None and self._make_partial(instance, item)
        primary = cls.__primary__
        if not verified and not primary.stores(instance.attribute_values, item):
            if self._returned is None:
                # A whole item lacking a key field: its key tells it, as for a partial one.
                restore_key_fields(instance, item, frozenset(primary.fields))
            if not primary.stores(instance.attribute_values, item):
                # Stored under another key than its attributes build ("E#1" for
                # "E#{seq:04d}"): as an entity it would read, save and delete the item at
                # the built key instead.
                if self._strict:
                    raise misplaced(instance, item)
                return UnknownItem(type_name, item)
        return instance

    def _unknown_error(
        self,
        item: Mapping[str, Any],
        type_name: str | None,
        cls: type[Entity] | None,
        wanted: tuple[type[Entity], ...] | None,
    ) -> UnknownEntityType:
        table = self._table
        if wanted is None:
            try:
                table.entity_for(item)
            except UnknownEntityType as exc:
                return exc
        names = " or ".join(repr(e.__type_name__) for e in wanted or ())
        why = f" (it has no {table.type_attribute!r} attribute)" if type_name is None else ""
        return UnknownEntityType(
            f"item {_raw_key(table, item)} is a {type_name!r}, not a {names}{why}",
            type_name=type_name,
            item=item,
        )

    def _make_partial(self, instance: Entity, item: Mapping[str, Any]) -> bool:
        """Make ``instance`` partial; True when its primary key was read from ``item``'s
        (see :func:`restore_key_fields`)."""
        cls = type(instance)
        known = self._unloaded.get(cls)
        if known is None:
            # What was asked for decides, not what a server sends beyond it (some local
            # servers ignore projections), so a read is partial the same way everywhere.
            returned = self._returned or frozenset()
            attributes = cls.get_attributes().items()
            known = (
                frozenset(name for name, a in attributes if a.attr_name not in returned),
                frozenset(
                    name
                    for name, a in attributes
                    if a.attr_name in self._partly and a.attr_name in returned
                ),
            )
            self._unloaded[cls] = known
        unloaded, partly = known
        if not unloaded and not partly:
            return False
        values = PartialValues(
            instance.attribute_values,
            entity=cls,
            unloaded=unloaded,
            key=functools.partial(_raw_key, self._table, item),
            partly=partly,
        )
        for name in unloaded:
            dict.pop(values, name, None)  # a default set by decoding: not read, so not shown
        instance.attribute_values = values
        return restore_key_fields(instance, item, unloaded)


def decode_whole(
    entity: type[Entity], item: Mapping[str, Any], *, strict: bool = True
) -> Entity | UnknownItem:
    """Decode a whole item that must be an ``entity`` (a read by key, an update's returned
    item, a failed condition's stored item).

    Raises:
        UnknownEntityType: The item is not an ``entity`` and ``strict``.
    """
    table = entity.__table__
    raw_type = item.get(table.type_attribute)
    if type(raw_type) is dict and raw_type.get("S") == entity.__type_name__:
        # The common case, without building a decoder: the decoder's own checks, inlined.
        instance = entity._from_raw(item)
        if entity.__primary__.stores(instance.attribute_values, item):
            return instance
    return Decoder(table, strict=strict)(item, entity)


def misplaced(instance: Entity, item: Mapping[str, Any]) -> UnknownEntityType:
    """The error for an item of ``instance``'s type stored under another key than the one
    its attributes build (an item the decoder does not take for that entity)."""
    cls = type(instance)
    table = cls.__table__
    primary = cls.__primary__
    try:
        built: Any = primary.build(instance.attribute_values)
    except (_ValidationError, AttributeError) as exc:
        built = f"none: {exc}"
    type_name = cls.__type_name__
    return UnknownEntityType(
        f"item {_raw_key(table, item)} has type {type_name!r} but is not stored under the key "
        f"{cls.__qualname__} builds from its attributes ({primary.describe()} gives {built}), "
        "so it is not taken for one: as an entity it would read, save and delete the item at "
        "that other key. It was written under another key format (an older template, another "
        "tool); rewrite it under the key its attributes build",
        type_name=type_name,
        item=item,
    )


def reload(instance: Entity, item: Mapping[str, Any]) -> None:
    """Make ``instance`` hold the whole stored ``item`` (whole again if it was partial).

    Raises:
        UnknownEntityType: The item is not of the instance's type.
    """
    fresh = decode_whole(type(instance), item)
    instance.attribute_values = fresh.attribute_values  # type: ignore[union-attr]


def report_unknown(table: Table, what: str, unknown: Sequence[UnknownItem]) -> None:
    """Log a warning for unknown items a read of one entity type kept off its results (they
    are on ``page.unknown``), so that none passes without a trace."""
    if not unknown:
        return
    logger.warning(
        "%s: %d item(s) read are not of the type asked for (no %r attribute, another type, or "
        "not stored under the key their attributes build) and were kept off the results; they "
        "are on page.unknown. First keys: %s",
        what,
        len(unknown),
        table.type_attribute,
        [_raw_key(table, u.item) for u in unknown[:3]],
    )
