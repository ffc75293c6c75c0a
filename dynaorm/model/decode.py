"""Decoding: the one place a raw item becomes an entity (whole or partial) or an UnknownItem.

Every read path decodes through :class:`Decoder`: ``get``, ``refresh``, ``mutate``,
``batch_get``, ``transact_get``, queries, item collections, scans (single and segmented),
``update(return_values=...)`` and the stored items of failed conditions. A decoder knows what
its request could return (``returned``: the top-level attributes of a projection, or of an
index that does not project everything), and so which attributes it did *not* load.

**Partial entities** (:class:`~dynaorm.model.partial.PartialValues`): an entity decoded from
less than a whole item is made partial here, and only here. ``to_item()`` and therefore
``save()``, ``Transaction.put`` and ``BatchWriter.put`` refuse it; ``refresh()`` (or an
``update()``, which returns the whole item) makes it whole. An attribute selected only through
nested paths (``Doc.meta["colour"]``) holds only those members: it reads as such, but makes the
entity partial too (``partly_loaded_attributes``).

**Unknown items** (:mod:`dynaorm.model.unknown_items`): an item no entity claims, or one not
stored under the key its entity builds, becomes an :class:`UnknownItem` record or raises
:class:`~dynaorm.UnknownEntityType`, per the table's ``unknown_items`` policy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import UnknownEntityType, ValidationError as _ValidationError
from dynaorm.model.dynamic import dynamic_fields
from dynaorm.model.key_only import key_only_fields, unreadable_key_fields
from dynaorm.model.partial import PartialValues
from dynaorm.model.stored_form import carry, fill_from_keys, remember
from dynaorm.model.unknown_items import (
    UnknownItem,
    classified,
    misplaced,
    stored_key,
)

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

# PartialValues (dynaorm.model.partial) and UNKNOWN_POLICIES, UnknownPolicy and classified
# (dynaorm.model.unknown_items) are named here too for the modules that import them from here.
__all__ = ["Decoder", "decode_whole", "reload", "restore_key_fields"]


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
        result = self._decode(item, expected, skip=False)
        assert result is not None
        return result

    def read(self, item: Mapping[str, Any]) -> Entity | UnknownItem | None:
        """Decode one item of a query or scan: as :meth:`__call__`, but ``None`` for an item
        the table's ``classify`` rule says is a registered entity other than those asked for,
        on a table that does not store the type attribute (``store_type=False``): there the
        server cannot filter such items out, so the decoder does, and they are not unknown.
        """
        return self._decode(item, None, skip=True)

    def _decode(
        self, item: Mapping[str, Any], expected: type[Entity] | None, *, skip: bool
    ) -> Entity | UnknownItem | None:
        table = self._table
        cls = self._assumed
        raw_type = item.get(table.type_attribute)
        type_name = raw_type.get("S") if isinstance(raw_type, Mapping) else None
        if cls is None:
            cls = table.entities.get(type_name) if type_name is not None else None
            if cls is None:
                cls = classified(table, item)
        wanted = (expected,) if expected is not None else self._entities
        if (
            skip
            and cls is not None
            and wanted is not None
            and type_name is None
            and not table.store_type
            and not issubclass(cls, wanted)
        ):
            return None
        if cls is None or (wanted is not None and not issubclass(cls, wanted)):
            if self._strict:
                raise self._unknown_error(item, type_name, cls, wanted)
            return UnknownItem(type_name, item)
        instance = cls._from_raw(item)
        # (A partial read that took every primary-key field from the stored key builds it.)
        verified = self._returned is not None and self._make_partial(instance, item)
        primary = cls.__primary__
        if self._returned is None:
            # A whole item lacking key fields: its keys tell them (stored_form).
            remember(instance, item, fill_from_keys(instance, item))
        if not verified and not primary.stores(instance.attribute_values, item):
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
            f"item {stored_key(table, item)} is a {type_name!r}, not a {names}{why}",
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
                frozenset(name for name, a in attributes if a.attr_name not in returned)
                # A key-only field whose keys the read does not return is unknown.
                | unreadable_key_fields(cls, returned),
                frozenset(
                    name
                    for name, a in attributes
                    if a.attr_name in self._partly and a.attr_name in returned
                )
                # A projection cannot name every attribute of a prefix: never whole.
                | {f.name for f in dynamic_fields(cls)},
            )
            self._unloaded[cls] = known
        unloaded, partly = known
        key_only = frozenset(key_only_fields(cls))
        if not unloaded and not partly:
            if key_only:
                restore_key_fields(instance, item, key_only)
            return False
        values = PartialValues(
            instance.attribute_values,
            entity=cls,
            unloaded=unloaded,
            key=functools.partial(stored_key, self._table, item),
            partly=partly,
        )
        for name in unloaded:
            dict.pop(values, name, None)  # a default set by decoding: not read, so not shown
        instance.attribute_values = values
        return restore_key_fields(instance, item, unloaded | key_only)


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
        remember(instance, item, fill_from_keys(instance, item))
        if entity.__primary__.stores(instance.attribute_values, item):
            return instance
    return Decoder(table, strict=strict)(item, entity)


def reload(instance: Entity, item: Mapping[str, Any]) -> None:
    """Make ``instance`` hold the whole stored ``item`` (whole again if it was partial).

    Raises:
        UnknownEntityType: The item is not of the instance's type.
    """
    fresh = decode_whole(type(instance), item)
    instance.attribute_values = fresh.attribute_values  # type: ignore[union-attr]
    carry(fresh, instance)  # type: ignore[arg-type]
