"""Item collections: every item sharing a partition (a customer and its orders), typed.

Example:
    >>> result = shop.partition(Customer.primary, customer_id="c1")  # doctest: +SKIP
    >>> result.first(Customer), len(result[Order])  # doctest: +SKIP
    (Customer(customer_id='c1', ...), 3)

Items no entity of the table claims (no type attribute, or a type naming no registered entity)
are never dropped silently: they are kept as :class:`~dynaorm.UnknownItem` records in
``ItemCollection.unknown`` (``strict=True``, or the table's ``unknown_items="raise"``, raises
:class:`~dynaorm.UnknownEntityType` instead). Restricting ``types=`` filters on the server, so
items of other types are not read into the result at all; items without a type attribute
still are (they could be of any type).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from pynamodb.expressions.condition import Condition

from dynaorm.base.errors import ValidationError
from dynaorm.expressions.compile import ExpressionBuilder, key_condition
from dynaorm.keys.ranges import SortKeyCondition, compile_range, split_range
from dynaorm.model.unknown_items import UnknownItem, is_strict
from dynaorm.read.cursor import request_digest
from dynaorm.read.plan import Plan
from dynaorm.read.reader import Reader
from dynaorm.read.support import (
    ReadPart,
    check_filter_paths,
    filter_expression,
    position_attributes,
    read_decoding,
    require_type_attribute,
)
from dynaorm.wire.connection import TableBinding, bind

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.model.bound_keys import BoundKey

__all__ = ["CollectionQuery", "ItemCollection"]

E = TypeVar("E", bound="Entity")


@attrs.frozen
class ItemCollection:
    """The items of one partition, typed, with access by entity type.

    Attributes:
        partition: The partition-key text, e.g. ``"CUSTOMER#c1"``.
        items: The entities, in key order.
        unknown: Items no entity of the table claims, in key order.

    Example:
        >>> orders = result[Order]  # doctest: +SKIP
    """

    partition: str
    items: tuple[Entity, ...]
    unknown: tuple[UnknownItem, ...] = ()

    def __getitem__(self, entity: type[E]) -> list[E]:
        """The items of ``entity`` (and its subclasses), in key order."""
        return [item for item in self.items if isinstance(item, entity)]

    def first(self, entity: type[E]) -> E | None:
        """The first item of ``entity`` in key order, or ``None``."""
        return next((item for item in self.items if isinstance(item, entity)), None)

    def __iter__(self) -> Iterator[Entity]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen(eq=False, kw_only=True)
class CollectionQuery(Reader["Entity | UnknownItem"]):
    """A query of a whole partition across entity types (``shop.partition_query(...)``).

    Iterating yields entities (and :class:`~dynaorm.UnknownItem` records); :meth:`fetch`
    reads everything into an :class:`ItemCollection`.
    """

    table: Table
    key: BoundKey[Any]
    partition_values: tuple[tuple[str, Any], ...]
    types: tuple[type[Entity], ...] = ()
    strict: bool | None = None
    descending: bool = False
    sort_range: SortKeyCondition | None = None

    @classmethod
    def create(
        cls,
        table: Table,
        key: BoundKey[Any],
        partition_values: Mapping[str, Any],
        *,
        types: Iterable[type[Entity]] | None = None,
        strict: bool | None = None,
    ) -> CollectionQuery:
        """The collection query of ``key``'s partition with these values.

        Raises:
            ValidationError: ``key`` is not a key of an entity of ``table``, a type is not an
                entity of ``table``, or a partition value is missing, unexpected or unusable.
        """
        from dynaorm.model.bound_keys import BoundKey

        if not isinstance(key, BoundKey) or key.entity.__dict__.get("__table__") is not table:
            raise ValidationError(
                f"partition() takes a key of an entity of table {table.name!r}, such as "
                f"Customer.primary; got {key!r}"
            )
        unexpected = sorted(set(partition_values) - set(key.pk.fields))
        if unexpected:
            raise ValidationError(
                f"partition({key.entity.__qualname__}.{key.name}) got unexpected "
                f"{', '.join(unexpected)}; partition key {key.pk.source!r} takes "
                f"{', '.join(key.pk.fields) or 'nothing'}"
            )
        key.pk.build(partition_values)
        chosen = tuple(types or ())
        for entity in chosen:
            if table.entities.get(getattr(entity, "__type_name__", "")) is not entity:
                raise ValidationError(f"{entity!r} is not an entity of table {table.name!r}")
        return cls(
            table=table,
            key=key,
            partition_values=tuple(sorted(partition_values.items())),
            types=chosen,
            strict=strict,
        )

    def range(
        self, *conditions: SortKeyCondition | Condition, key: BoundKey[Any] | None = None
    ) -> CollectionQuery:
        """Restrict the sort key: on its raw text, or through a key's sort template.

        Pass one ``sort_key`` condition (``sort_key.between("i#2020-06-01", "i#2020-06-15")``,
        ``sort_key >= "p#"``, ``sort_key.begins_with("sh#")``), or conditions on the fields
        of a sort template, as an entity query's ``range()`` takes them
        (``Invoice.date.between(d1, d2)``), compiled through ``key``'s sort template (by
        default the key the collection was made from; another key must use the same index).
        Items of every type whose sort key falls in the range are read.

        Raises:
            ValidationError: Mixed or repeated ranges, a condition that does not suit the
                template, ``key`` on another index, or a strict comparison on the last field
                of a template (it would need a filter on one type's attribute; use ``<=`` or
                ``>=``).

        Example:
            >>> from dynaorm import sort_key
            >>> q = shop.partition_query(Invoice.by_customer, customer_id="c1")  # doctest: +SKIP
            >>> q.range(sort_key.between("i#2020-06-01", "i#2020-06-15"))  # doctest: +SKIP
        """
        if self.sort_range is not None:
            raise ValidationError("partition(): the query already has a sort-key range")
        raw = [c for c in conditions if isinstance(c, SortKeyCondition)]
        if raw:
            if len(conditions) != 1 or key is not None:
                raise ValidationError(
                    "partition(): range() takes one sort_key condition, or conditions on a "
                    "sort template's fields, not both"
                )
            return attrs.evolve(self, sort_range=raw[0])
        if not conditions:
            raise ValidationError("partition(): range() needs a condition")
        return attrs.evolve(self, sort_range=self._template_range(conditions, key or self.key))

    def _template_range(
        self, conditions: tuple[SortKeyCondition | Condition, ...], key: BoundKey[Any]
    ) -> SortKeyCondition:
        owner = f"{key.entity.__qualname__}.{key.name}"
        if key.index is not self.key.index and (
            key.index is None or self.key.index is None or key.index.name != self.key.index.name
        ):
            raise ValidationError(
                f"partition(): range(key={owner}) is on another index than the collection's "
                f"key {self.key.entity.__qualname__}.{self.key.name}"
            )
        sort = key.sk
        if sort is None:
            raise ValidationError(f"partition(): {owner} has no sort key to range over")
        for condition in conditions:
            if not isinstance(condition, Condition):
                raise ValidationError(f"partition(): range() takes conditions, got {condition!r}")
        attributes = key.entity.get_attributes()
        equal, bound = split_range(conditions, attributes, sort, owner=owner)  # type: ignore[arg-type]
        compiled = compile_range(sort, equal, bound, owner=owner)
        if compiled.exclude is not None:
            raise ValidationError(
                f"partition(): a strict comparison on {compiled.exclude[0]!r}, the last field "
                f"of sort key {sort.source!r}, needs a filter on that attribute, which other "
                "types lack; use <= or >= with the adjacent value"
            )
        if compiled.condition is None:
            raise ValidationError(f"partition(): the conditions do not restrict {owner}'s sort key")
        return compiled.condition

    def reverse(self, flag: bool = True) -> CollectionQuery:
        """Return items in descending key order."""
        return attrs.evolve(self, descending=flag)

    def _check_filter(self, condition: Condition) -> None:
        check_filter_paths(condition, self.table, None, refuse_keys=True, what="partition()")

    def _check_consistent(self) -> None:
        index = self.key.index
        if index is not None and not index.local:
            raise ValidationError(
                f"partition(): global index {index.name!r} supports only eventually "
                "consistent reads"
            )

    @property
    def partition(self) -> str:
        """The partition-key text."""
        return self.key.pk.build(dict(self.partition_values))

    def _plan(
        self, part: ReadPart = "read", bound: TableBinding | None = None
    ) -> Plan[Entity | UnknownItem]:
        table, key = self.table, self.key
        index = key.index
        builder = ExpressionBuilder()
        partition = self.partition
        bound = bound or bind(table)  # the read goes to the table as it is now (see Plan)
        request: dict[str, Any] = {"TableName": bound.name}
        if index is not None:
            request["IndexName"] = index.name
        condition = self.sort_range
        if condition is not None and key.sk_attribute is None:
            raise ValidationError(
                f"partition(): {key.entity.__qualname__}.{key.name} has no sort key"
            )
        request["KeyConditionExpression"] = key_condition(
            builder,
            key.pk_attribute,
            {"S": partition},
            key.sk_attribute if condition else None,
            condition.operator if condition else None,
            [{"S": v} for v in condition.values] if condition else (),
        )
        names = [t.__type_name__ for t in self.types]
        filters, decoder, counting = read_decoding(
            table, index, (), names, entity=None, strict=is_strict(table, self.strict), part=part
        )
        filters.extend(self.filters)
        if filters:
            request["FilterExpression"] = filter_expression(builder, filters)
        request.update(builder.members())
        request["ScanIndexForward"] = not self.descending
        request["ConsistentRead"] = self.consistent_read
        request["ReturnConsumedCapacity"] = "TOTAL"
        require_type_attribute(table, index, "partition()")
        return Plan(
            table=table,
            binding=bound,
            operation="Query",
            request=request,
            decode=decoder.read,
            position_attributes=position_attributes(table, index),
            digest=request_digest(request, kind="collection"),
            partition=(key.pk_attribute, partition),
            sort_range=(key.sk_attribute, condition.matches)
            if condition is not None and key.sk_attribute
            else None,
            page_size=self.request_limit,
            max_age=self.cursor_max_age,
            mixed=True,
            what="partition()",
            counting=counting,
            count_parts=functools.partial(self._count_parts, bound),
        )

    def fetch(self) -> ItemCollection:
        """Read the partition (up to the limit) into an :class:`ItemCollection`.

        Raises:
            UnknownEntityType: An item has an unknown type and the query is ``strict``.
        """
        return self._collection(list(self))

    async def afetch(self) -> ItemCollection:
        """:meth:`fetch` with ``await`` (``table.apartition(...)``).

        Example:
            >>> result = await shop.partition_query(Customer.primary, customer_id="c1").afetch()
            ... # doctest: +SKIP
        """
        return self._collection(await self.aall())

    def _collection(self, items: list[Entity | UnknownItem]) -> ItemCollection:
        entities: list[Entity] = []
        unknown: list[UnknownItem] = []
        for item in items:
            if isinstance(item, UnknownItem):
                unknown.append(item)
            else:
                entities.append(item)
        return ItemCollection(self.partition, tuple(entities), tuple(unknown))
