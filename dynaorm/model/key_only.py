"""Key fields stored only inside the keys (``store_key_fields=False``).

By default an item holds every key-template field as an attribute of its own beside the keys
(``customer_id`` next to ``PK = "CUSTOMER#c1"``). Published single-table designs, and items
other tools wrote, hold such a field only inside the keys. With ``store_key_fields=False``
(on the :class:`~dynaorm.Table`, or per entity as a class keyword, which may also name the
fields the entity still stores: ``store_key_fields=["date"]``) an item is written that way:
:func:`without_key_fields` leaves out of the stored item each field attribute whose value a
key attribute that this item stores gives back when parsed. Primary-key fields are always
left out; a field of an index key only when that index key is written in the item (a sparse
index key left out keeps its fields stored). The decoder restores such fields from the keys
on every read path (:func:`dynaorm.model.stored_form.fill_from_keys`).

A field is *key-only* (:func:`key_only_fields`) when the keys can give it back exactly: it
appears as itself (not only through a :class:`~dynaorm.Shard`) in a template, no template
it appears in changes its case, and it is neither the version nor a timestamp attribute
(which conditions and ``if_not_exists`` updates name). A number is left out only when its
key text reads back as the same value of the same type (``2.0`` builds ``"2"``, which reads
back as ``2``: it stays stored). Everything else stays stored as usual.

Conditions and filters cannot see a key-only field (the attribute is absent):
:func:`refuse_key_only_paths` refuses them before any request is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from dynaorm.base.class_cache import per_class
from dynaorm.base.errors import ConfigurationError, ValidationError
from dynaorm.expressions.operands import Operand
from dynaorm.expressions.paths import top_name
from dynaorm.keys.codecs import FieldCodec, NumberCodec, TextCodec
from dynaorm.model.bound_keys import BoundKey
from dynaorm.model.timestamps import timestamp_attributes
from dynaorm.model.versions import is_version

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase
    from dynaorm.model.table import TableDefinition

__all__ = [
    "STORE_KEY_FIELDS",
    "KeyOnlyField",
    "StoreKeyFields",
    "exact_number",
    "from_keys",
    "key_only_fields",
    "projected_key_attributes",
    "refuse_key_only_paths",
    "store_option",
    "stores_key_fields",
    "unreadable_key_fields",
    "without_key_fields",
]

#: The class attribute holding an entity's own ``store_key_fields=`` (``None``: the table's).
STORE_KEY_FIELDS = "__store_key_fields__"


@attrs.frozen
class KeyOnlyField:
    """A field an entity stores only inside its keys.

    Attributes:
        name: Its Python name.
        attribute: Its physical attribute name (absent from the stored item).
        keys: The keys whose templates hold it, primary key first when it is a primary field.
        sources: The physical attributes of each of those keys (all present: it parses).
        codecs: Its number codecs (checked per value, see :func:`exact_number`); empty for
            text and datetimes, which always read back exactly.
    """

    name: str
    attribute: str
    keys: tuple[BoundKey, ...]
    sources: tuple[tuple[str, ...], ...]
    codecs: tuple[FieldCodec, ...] = ()

    @property
    def primary(self) -> bool:
        """Whether it is a primary-key field (then never stored)."""
        return any(key.index is None for key in self.keys)

    def describe(self) -> str:
        """``key by_customer (Data = '{status}#{order_date}')`` for messages."""
        key = self.keys[0]
        parts = [(key.pk_attribute, key.pk)]
        if key.sk is not None and key.sk_attribute is not None:
            parts.append((key.sk_attribute, key.sk))
        where = ", ".join(f"{a} = {t.source!r}" for a, t in parts if self.name in t.fields)
        return f"key {key.name} ({where})"


#: An entity's ``store_key_fields=`` class keyword: ``None`` (the table's choice), ``True``,
#: ``False``, or the names of the key fields it still stores (the others are key-only).
StoreKeyFields = bool | Collection[str] | None


def store_option(cls: type[EntityBase], value: StoreKeyFields) -> bool | frozenset[str] | None:
    """Check an entity's ``store_key_fields=`` class keyword (its keys bound).

    Raises:
        ConfigurationError: It is not a bool, ``None`` or a collection of the names of fields
            the entity's key templates use.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigurationError(
            f"{cls.__qualname__}: store_key_fields= takes True, False or the names of the key "
            f"fields still stored (a list or set), not {value!r}"
        )
    fields = {name for key in cls.__keys__.values() for name in key.fields}
    unknown = sorted(str(name) for name in value if name not in fields)
    if unknown:
        raise ConfigurationError(
            f"{cls.__qualname__}: store_key_fields= names {', '.join(unknown)}, which no key "
            f"template uses (key fields: {', '.join(sorted(fields)) or 'none'})"
        )
    return frozenset(value)


def stores_key_fields(cls: type[EntityBase]) -> bool:
    """Whether ``cls`` stores all its key fields as attributes: its own ``store_key_fields=``
    class keyword, or its table's."""
    own: bool | frozenset[str] | None = cls.__dict__.get(STORE_KEY_FIELDS)
    if own is None:
        return bool(cls.__table__.store_key_fields)
    return own if isinstance(own, bool) else False


def _stored_anyway(cls: type[EntityBase]) -> frozenset[str]:
    own = cls.__dict__.get(STORE_KEY_FIELDS)
    return own if isinstance(own, frozenset) else frozenset()


def key_only_fields(cls: type[EntityBase]) -> Mapping[str, KeyOnlyField]:
    """The key-only fields of ``cls`` by Python name (empty when it stores key fields)."""
    return per_class(cls, "_dynaorm_key_only", _build)


def _build(cls: type[EntityBase]) -> Mapping[str, KeyOnlyField]:
    if stores_key_fields(cls):
        return {}
    attributes = cls.get_attributes()
    created, updated = timestamp_attributes(cls)  # type: ignore[arg-type]
    kept = {*created, *updated, *(n for n, a in attributes.items() if is_version(a))}
    kept |= _stored_anyway(cls)
    found: dict[str, list[BoundKey]] = {}
    lossy: set[str] = set()
    for key in cls.__keys__.values():
        for template in (key.pk, *([key.sk] if key.sk is not None else [])):
            for name in template.fields:
                if name not in attributes:
                    continue  # a shard: its source is not in the text
                codec = template.codecs[name]
                if isinstance(codec, TextCodec) and template.is_cased(name):
                    lossy.add(name)
                if key not in found.setdefault(name, []):
                    found[name].append(key)
    out: dict[str, KeyOnlyField] = {}
    for name, keys in found.items():
        if name in lossy or name in kept:
            continue
        keys.sort(key=lambda k: k.index is not None)
        codecs = tuple(
            t.codecs[name]
            for k in keys
            for t in (k.pk, *([k.sk] if k.sk is not None else []))
            if name in t.fields and isinstance(t.codecs[name], NumberCodec)
        )
        sources = tuple(
            (k.pk_attribute, *([k.sk_attribute] if k.sk_attribute else [])) for k in keys
        )
        out[name] = KeyOnlyField(name, attributes[name].attr_name, tuple(keys), sources, codecs)
    return out


def exact_number(codecs: Iterable[FieldCodec], value: Any) -> bool:
    """Whether ``value`` reads back from its key text as the same value of the same type."""
    if type(value) is int:
        return True
    for codec in codecs:
        try:
            back = codec.from_text(codec.to_text(value))
        except (TypeError, ValueError, ArithmeticError):
            return False
        if type(back) is not type(value) or back != value:
            return False
        if isinstance(value, Decimal) and back.as_tuple() != value.as_tuple():
            return False
    return True


def without_key_fields(instance: EntityBase, item: dict[str, Any]) -> dict[str, Any]:
    """``item`` (the instance encoded, keys included) without the attributes of the key-only
    fields a key attribute in ``item`` gives back; the one place the stored form of
    ``store_key_fields=False`` is decided (``to_item()`` calls it, so ``save()``,
    ``batch.put`` and ``tx.put`` all write the same item)."""
    fields = key_only_fields(type(instance))
    if not fields:
        return item
    values = instance.attribute_values
    for field in fields.values():
        if field.attribute not in item:
            continue
        if field.codecs and not exact_number(field.codecs, dict.get(values, field.name)):
            continue
        if any(all(a in item for a in source) for source in field.sources):
            del item[field.attribute]
    return item


def projected_key_attributes(table: TableDefinition, names: Iterable[str]) -> set[str]:
    """The key attributes a projection of the attributes ``names`` must add so that the
    key-only fields among them (of any entity of ``table``) can be parsed from the keys."""
    wanted = set(names)
    out: set[str] = set()
    for entity in table.entities.values():
        for field in key_only_fields(entity).values():
            if field.attribute in wanted:
                out.update(a for source in field.sources for a in source)
    return out


def unreadable_key_fields(cls: type[EntityBase], returned: frozenset[str]) -> frozenset[str]:
    """The key-only fields of ``cls`` a read returning the attributes ``returned`` cannot
    know: none of their keys is returned whole (their attribute, when stored, could be told
    from an absent one only by the keys)."""
    return frozenset(
        field.name
        for field in key_only_fields(cls).values()
        if not any(all(a in returned for a in source) for source in field.sources)
    )


def from_keys(
    cls: type[EntityBase], item: Mapping[str, Any], names: Iterable[str]
) -> dict[str, Any]:
    """Python name -> value of the key-only fields among the attributes ``names`` whose
    attribute ``item`` lacks, parsed from a key of ``item`` that holds them."""
    wanted = set(names)
    out: dict[str, Any] = {}
    for field in key_only_fields(cls).values():
        if field.attribute not in wanted or field.attribute in item:
            continue
        for key, source in zip(field.keys, field.sources, strict=True):
            if not all(type(item.get(a)) is dict and "S" in item[a] for a in source):
                continue
            try:
                out[field.name] = key.parse(item)[field.name]
            except (ValidationError, KeyError):
                continue
            break
    return out


def _paths(node: Any) -> Iterator[Path]:
    if isinstance(node, Path):
        yield node
    elif isinstance(node, Condition | Operand):
        for child in node.values:
            yield from _paths(child)


def refuse_key_only_paths(
    entities: Iterable[type[EntityBase]], condition: Condition | None, what: str
) -> None:
    """Refuse a condition or filter naming a key-only field of one of ``entities``: its
    attribute is absent from the stored items, so it would never match (or always fail).

    Raises:
        ValidationError: The condition names such a field.
    """
    if condition is None:
        return
    by_attribute: dict[str, tuple[type[EntityBase], KeyOnlyField]] = {}
    for entity in entities:
        for field in key_only_fields(entity).values():
            by_attribute.setdefault(field.attribute, (entity, field))
    if not by_attribute:
        return
    for path in _paths(condition):
        found = by_attribute.get(top_name(path))
        if found is None:
            continue
        entity, field = found
        raise ValidationError(
            f"{what}: {entity.__qualname__}.{field.name} lives only in {field.describe()} "
            "(store_key_fields=False), so its attribute is not stored and a condition or "
            "filter on it would never match. Restrict the key instead (a query's range(), "
            f"sort_key(...)), or store the field: class {entity.__qualname__}(Entity, "
            "table=..., store_key_fields=True)"
        )
