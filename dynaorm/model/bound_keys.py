"""Keys of an entity: the declared :class:`Key`, its bound form, and concrete item keys."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, overload

import attrs

from dynaorm.base.errors import ValidationError
from dynaorm.keys.parts import CasingOption, FromTable, Template
from dynaorm.keys.shards import BoundShard
from dynaorm.keys.templates import KeyTemplate
from dynaorm.model.indexes import Index

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from dynaorm.api.entity import Entity
    from dynaorm.read.query import Query
    from dynaorm.read.sharded import ShardedQuery

    # The entity a bound key belongs to; a bare ``BoundKey`` means ``BoundKey[Entity]``.
    E = TypeVar("E", bound=Entity, default=Entity)
else:
    from typing import TypeVar

    E = TypeVar("E")

__all__ = ["BoundKey", "ItemKey", "Key"]


@attrs.frozen
class Key:
    """Declares how an entity's key (primary, or of one index) is built from its attributes.

    Args:
        pk: Partition-key template, e.g. ``"CUSTOMER#{customer_id}"``. A local index takes
            the primary partition key and leaves this out.
        sk: Sort-key template, e.g. ``"ORDER#{placed_at}#{order_id}"`` or ``"PROFILE"``.
        index: The index this key populates; ``None`` for the primary key.

    Fields may carry a format spec: ``"{seq:08d}"`` zero-pads numbers so text order matches
    numeric order. Only integer specs (``[sign][0][width]d``) are accepted, since a key must
    read back exactly: ``.2f``, ``g`` or ``e`` would build one key for different numbers.
    Datetime attributes render as fixed-width UTC ISO-8601, or in the format their spec
    names (``"{day:date}"``, ``"{at:seconds}"``, ``"{at:secondsZ}"``, ``"{at:epoch}"``).

    A template may be a :class:`~dynaorm.Template` to give it its own delimiter or casing.

    Args (keyword only):
        delimiter: The character values may never contain, for both templates (a
            ``Template`` may set its own); ``None`` for none. By default the table's.
        casing: ``"lower"``/``"upper"`` normalises the literal text and text values of both
            templates, or a mapping (``{"status": "upper"}``) normalises the text fields it
            names; ``"none"`` (the default) keeps them.
        assume_disjoint: For a primary key: skip the check that its keys cannot equal
            another entity's keys. Only for keys whose values you guarantee never build
            another type's key (the check could not prove it).

    Example:
        >>> Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
        Key(pk='CUSTOMER#{customer_id}', sk='PROFILE', index=None)
    """

    pk: str | Template | None = None
    sk: str | Template | None = None
    index: str | None = None
    delimiter: str | FromTable | None = attrs.field(
        default=FromTable.DELIMITER, kw_only=True, repr=False
    )
    casing: CasingOption = attrs.field(default="none", kw_only=True, repr=False)
    assume_disjoint: bool = attrs.field(default=False, kw_only=True, repr=False)

    # Declaring an entity replaces each Key with its BoundKey, so on a concrete entity
    # ``Order.by_status`` is a BoundKey; this descriptor tells type checkers so. An abstract
    # entity (no table=) keeps the Key itself.
    @overload
    def __get__(self, instance: None, owner: type[E]) -> BoundKey[E]: ...
    @overload
    def __get__(self, instance: E, owner: type[E]) -> BoundKey[E]: ...
    def __get__(self, instance: Any, owner: Any) -> Any:
        return self


@attrs.frozen(eq=False)
class BoundKey(Generic[E]):
    """A :class:`Key` bound to its entity: compiled templates and physical attribute names.

    Attributes:
        entity: The entity class.
        name: The class attribute the key was declared as (``"primary"``, ``"by_status"``).
        index: The index it populates, ``None`` for the primary key.
        pk: Partition-key template.
        sk: Sort-key template, if the table/index has a sort key.
        pk_attribute: Physical partition-key attribute.
        sk_attribute: Physical sort-key attribute.
        assume_disjoint: The key was declared with ``assume_disjoint=True``: the table does
            not check it against other entities' keys.
        owned: Physical attributes the key shares with the primary key or with a declared
            attribute, which write them; the key itself never writes them.
        shared: Physical attributes other index keys of the entity write too (with the same
            template): each is written whenever its own template's fields are all set.
    """

    entity: type[E]
    name: str
    index: Index | None
    pk: KeyTemplate
    sk: KeyTemplate | None
    pk_attribute: str
    sk_attribute: str | None
    shards: tuple[BoundShard, ...] = ()
    assume_disjoint: bool = attrs.field(default=False, kw_only=True)
    owned: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    shared: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """Every attribute the key's templates use (a shard field counts as its source)."""
        names = self.pk.fields + (self.sk.fields if self.sk else ())
        if not self.shards:
            return names
        sources = {s.name: s.source for s in self.shards}
        return tuple(dict.fromkeys(sources.get(name, name) for name in names))

    @property
    def shard(self) -> BoundShard | None:
        """The shard field of the partition template, if it has one."""
        return self.shards[0] if self.shards else None

    def _with_shards(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        if not self.shards:
            return values
        out = dict(values)
        for shard in self.shards:
            out[shard.name] = shard.value(values.get(shard.source))
        return out

    @functools.cached_property
    def written_attributes(self) -> tuple[str, ...]:
        """The physical attributes this key writes (a local index writes only its sort key)."""
        if self.index is not None and self.index.local:
            return (self.sk_attribute,) if self.sk_attribute else ()
        return (self.pk_attribute, *([self.sk_attribute] if self.sk_attribute else []))

    def describe(self) -> str:
        """``pk='…', sk='…'`` for messages."""
        sk = f", sk={self.sk.source!r}" if self.sk else ""
        return f"pk={self.pk.source!r}{sk}"

    def build(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Physical key attribute -> text, for every attribute this key writes.

        Raises:
            ValidationError: A field is missing or unusable.
        """
        out = {}
        values = self._with_shards(values)
        if self.pk_attribute in self.written_attributes:
            out[self.pk_attribute] = self.pk.build(values)
        if self.sk is not None and self.sk_attribute is not None:
            out[self.sk_attribute] = self.sk.build(values)
        return out

    @functools.cached_property
    def _parts(self) -> tuple[tuple[str, KeyTemplate], ...]:
        """(physical attribute, template) for every attribute this key writes itself."""
        parts = (
            [(self.pk_attribute, self.pk)] if self.pk_attribute in self.written_attributes else []
        )
        if self.sk is not None and self.sk_attribute is not None:
            parts.append((self.sk_attribute, self.sk))
        return tuple((a, t) for a, t in parts if a not in self.owned)

    @property
    def written_parts(self) -> tuple[tuple[str, KeyTemplate], ...]:
        """(physical attribute, template) for every attribute the key writes itself, in the
        order :meth:`index_writes` gives them (:attr:`owned` ones left out)."""
        return self._parts

    def attribute_fields(self, attribute: str) -> tuple[str, ...]:
        """The fields the template of physical ``attribute`` uses (empty if none); a shard
        field counts as its source."""
        fields = next((t.fields for a, t in self._parts if a == attribute), ())
        sources = {s.name: s.source for s in self.shards}
        return tuple(sources.get(name, name) for name in fields)

    def index_writes(self, values: Mapping[str, Any]) -> dict[str, str | None]:
        """What an index key stores for ``values``: physical attribute -> text, or ``None``
        where the attribute must be absent (sparse). Attributes in :attr:`owned` are left
        out: the primary key or a declared attribute writes them.

        Raises:
            ValidationError: A set field is unusable in the key.
        """
        complete = self.is_complete(values)
        values = self._with_shards(values)  # an unset source gives an unset shard
        out: dict[str, str | None] = {}
        for attribute, template in self._parts:
            if attribute in self.shared:
                present = all(values.get(name) is not None for name in template.fields)
            else:
                present = complete
            out[attribute] = template.build(values) if present else None
        return out

    @functools.cached_property
    def _formats(self) -> tuple[tuple[str, str], ...] | None:
        """(physical attribute, format string) per template, when both templates have one."""
        pairs = [(self.pk_attribute, self.pk.format_string)]
        if self.sk is not None and self.sk_attribute is not None:
            pairs.append((self.sk_attribute, self.sk.format_string))
        if any(fmt is None for _, fmt in pairs):
            return None
        return tuple((attribute, str(fmt)) for attribute, fmt in pairs)

    def stores(self, values: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
        """True when ``item``'s key attributes hold exactly the key built from ``values``:
        the item is the one those values locate (see :meth:`KeyTemplate.built`).

        ``False`` as well when a field is missing or not loaded, or the item lacks a key
        attribute.
        """
        try:
            values = self._with_shards(values)
        except ValidationError:
            return False
        fast = self._formats
        if fast is not None:
            # What KeyTemplate.built tries first, for both templates in one go.
            try:
                for attribute, fmt in fast:
                    if fmt.format_map(values) != item[attribute]["S"]:
                        break
                else:
                    return True
            except (LookupError, TypeError, ValueError, AttributeError):
                pass
        try:
            pk = item[self.pk_attribute]["S"]
            sk = item[self.sk_attribute]["S"] if self.sk_attribute is not None else None
        except (KeyError, TypeError):
            return False
        if not self.pk.built(values, pk):
            return False
        return self.sk is None or (sk is not None and self.sk.built(values, sk))

    def is_complete(self, values: Mapping[str, Any]) -> bool:
        """True when every field has a value (a sparse index key is written only then)."""
        return all(values.get(name) is not None for name in self.fields)

    def parse(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Read the field values back from a raw item's key attributes."""
        values = self.pk.parse(item[self.pk_attribute]["S"])
        if self.sk is not None and self.sk_attribute is not None:
            values.update(self.sk.parse(item[self.sk_attribute]["S"]))
        for shard in self.shards:
            values.pop(shard.name, None)
        return values

    # -- queries -------------------------------------------------------------------------

    def query(self, **partition_values: Any) -> Query[E]:
        """Query this key's partition (on its index, if it has one) for its entity type.

        Args:
            **partition_values: The fields of the partition-key template.

        Returns:
            A :class:`~dynaorm.Query`, restricted to the sort template's constant prefix;
            refine it with ``range()``, ``where()``, ``select()``, ``limit()``, ...

        Raises:
            ValidationError: A partition value is missing, unexpected or unusable, or the
                key's index is ``KEYS_ONLY`` (it cannot hold the type attribute).

        Example:
            >>> Order.by_status.query(status="SHIPPED").reverse().first()  # doctest: +SKIP
        """
        # Queries live above the model: the entity class (a dynaorm.Entity) builds it.
        query: Query[E] = self.entity._query_key(self, dict(partition_values))
        return query

    def scatter(self, **partition_values: Any) -> ShardedQuery[E]:
        """Query every shard of this sharded key's partition, merged in sort-key order.

        A key with a :class:`~dynaorm.Shard` field reads its ``count`` shards. A key whose
        partition holds a bucket the application writes itself (a random ``0 .. N``) reads
        the buckets given as a ``range``, ``list`` or ``tuple``: ``scatter(bucket=range(15))``.

        Args:
            **partition_values: The fields of the partition-key template, less the shard
                (or with the bucket field's values).

        Returns:
            A :class:`~dynaorm.ShardedQuery`: ``where()``, ``select()``, ``range()``,
            ``reverse()``, ``limit()``, ``page()`` with a cursor over all shards, ``all()``.

        Raises:
            ValidationError: The key has no shard field and no field is given values, or a
                partition value is missing, unexpected or unusable.

        Example:
            >>> Order.by_day.scatter(day="2024-05-01").limit(20).page()  # doctest: +SKIP
            >>> Ticket.by_bucket.scatter(bucket=range(15)).all()  # doctest: +SKIP
        """
        query: ShardedQuery[E] = self.entity._scatter_key(self, dict(partition_values))
        return query


def _qualname(entity: type[Any]) -> str:
    return entity.__qualname__


def _sorted_dict(mapping: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(mapping.items()))


@attrs.frozen
class ItemKey:
    """The key of one item of a given entity type.

    Attributes:
        entity: The entity class.
        key: The physical primary key, as text, e.g. ``{"PK": "CUSTOMER#c1", "SK": "PROFILE"}``.
    """

    entity: type[Entity] = attrs.field(eq=False, repr=_qualname)
    key: Mapping[str, str] = attrs.field(converter=_sorted_dict)

    def __hash__(self) -> int:
        return hash((self.entity.__type_name__, tuple(self.key.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ItemKey):
            return NotImplemented
        return self.entity is other.entity and self.key == other.key

    def to_request(self) -> dict[str, dict[str, str]]:
        """The ``Key`` member of a request, in DynamoDB's typed form."""
        return {name: {"S": value} for name, value in self.key.items()}
