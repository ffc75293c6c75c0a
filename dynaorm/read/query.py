"""Entity queries: immutable query objects over a primary or index key, compiled separately.

Example:
    >>> q = (Order.query(customer_id="c1")  # doctest: +SKIP
    ...        .where(Order.total > 100).select(Order.order_id, Order.total).limit(20))
    >>> q.compile()["KeyConditionExpression"]  # doctest: +SKIP
    '#n0 = :v0 AND begins_with(#n1, :v1)'

**Only the entity's own items.** The sort key is restricted to the template's constant prefix
(``ORDER#``), and every entity query also carries ``type = :entity`` in its filter. The prefix
keeps the read narrow; the filter makes the result exact whatever else shares the partition or
index: other types whose keys start alike, sort templates without a constant prefix (GSI sort
keys such as ``{placed_at}``), or a range bound that equals another type's key. DynamoDB
charges for what the key condition reads, so the filter costs nothing when the prefix already
separates the types. A query on a global index that does not hold the type attribute
(``KEYS_ONLY``) is refused before any request: it could not be filtered by type. ``INCLUDE``
indexes always project the type attribute.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from dynaorm.base.errors import ValidationError
from dynaorm.expressions.compile import ExpressionBuilder, key_condition
from dynaorm.expressions.paths import path_of
from dynaorm.keys.ranges import KeyRange, compile_range, split_range
from dynaorm.model.entity import check_concrete
from dynaorm.model.unknown_items import is_strict
from dynaorm.read.cursor import request_digest
from dynaorm.read.plan import Plan
from dynaorm.read.reader import Reader
from dynaorm.read.support import (
    ReadPart,
    add_read_expressions,
    check_filter_paths,
    index_has,
    read_decoding,
    require_type_attribute,
)
from dynaorm.wire.connection import TableBinding, bind

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.model.bound_keys import BoundKey

__all__ = ["Query"]

E = TypeVar("E", bound="Entity")


@attrs.frozen(eq=False, kw_only=True)
class Query(Reader[E], Generic[E]):
    """A query for one entity type on its primary key or one of its index keys.

    Build it with ``Order.query(customer_id="c1")`` or ``Order.by_status.query(status="PAID")``;
    every method returns a new query. Iterate it, or call :meth:`page`, :meth:`all`,
    :meth:`first`, :meth:`count`; :meth:`compile` shows the request.

    Example:
        >>> recent = (Order.by_status.query(status="SHIPPED")  # doctest: +SKIP
        ...           .range(Order.placed_at >= since).reverse().limit(10))
        >>> page = recent.page()  # doctest: +SKIP
        >>> more = recent.after(page.cursor).page()  # doctest: +SKIP
    """

    entity: type[E]
    key: BoundKey[Any]
    partition_values: tuple[tuple[str, Any], ...]
    ranges: tuple[Condition, ...] = ()
    projection: tuple[Path, ...] = ()
    descending: bool = False

    @classmethod
    def create(
        cls, entity: type[E], key: BoundKey[Any], partition_values: Mapping[str, Any]
    ) -> Query[E]:
        """A query of ``entity`` on ``key``'s partition built from ``partition_values``.

        Raises:
            ValidationError: A partition value is missing, unexpected or unusable, or the
                key's index does not hold the type attribute (``KEYS_ONLY``).
            ConfigurationError: ``entity`` is abstract.
        """
        check_concrete(entity)
        require_type_attribute(
            entity.__table__, key.index, f"{entity.__qualname__}.{key.name}.query()"
        )
        expected = key.pk.fields
        unexpected = sorted(set(partition_values) - set(expected))
        if unexpected:
            raise ValidationError(
                f"{entity.__qualname__}.{key.name}.query() got unexpected "
                f"{', '.join(unexpected)}; partition key {key.pk.source!r} takes "
                f"{', '.join(expected) or 'nothing'} (restrict the sort key with range(...))"
            )
        shard = key.shard
        if shard is not None and partition_values.get(shard.name) is None:
            raise ValidationError(
                f"{entity.__qualname__}.{key.name}.query() reads one shard and needs "
                f"{shard.name}= (0 to {shard.count - 1}); read every shard with "
                f"{entity.__qualname__}.{key.name}.scatter(...)"
            )
        key.pk.build(partition_values)
        return cls(entity=entity, key=key, partition_values=tuple(sorted(partition_values.items())))

    @property
    def _owner(self) -> str:
        return f"{self.entity.__qualname__}.{self.key.name}"

    # -- building ------------------------------------------------------------------------

    def range(self, *conditions: Condition) -> Query[E]:
        """Restrict the sort key by conditions on its template's fields.

        Leading fields may be fixed with ``==``; the next one may take ``<``, ``<=``, ``>``,
        ``>=``, ``between`` or ``startswith`` (conditions combine with ``&`` or repeated
        calls). They compile to one condition on the physical sort key, in key order.

        Raises:
            ValidationError: A condition is not on the sort template's fields in order, or
                its operator does not suit the field.

        Example:
            >>> Order.query(customer_id="c1").range(Order.order_id >= "o5")  # doctest: +SKIP
        """
        query = attrs.evolve(self, ranges=(*self.ranges, *conditions))
        query._key_range()
        return query

    def select(self, *targets: Attribute[Any] | Path | str) -> Query[E]:
        """Read only these attributes (nested paths allowed: ``Order.meta["colour"]``).

        The entity type and the key attributes are always read too, and the key-template
        fields (``customer_id``, ``order_id``) are restored from the keys, so a partial result
        still knows its ``item_key``. Results are partial entities: reading an attribute that
        was not selected raises :class:`~dynaorm.AttributeNotLoaded` (never a default), and
        ``save()`` is refused; ``refresh()`` reads one whole.
        """
        return attrs.evolve(self, projection=(*self.projection, *(path_of(t) for t in targets)))

    def reverse(self, flag: bool = True) -> Query[E]:
        """Return items in descending key order (``ScanIndexForward=False``)."""
        return attrs.evolve(self, descending=flag)

    def _check_filter(self, condition: Condition) -> None:
        check_filter_paths(
            condition,
            self.entity.__table__,
            self.entity,
            refuse_keys=True,
            what=f"{self._owner}.query()",
        )

    def _check_consistent(self) -> None:
        index = self.key.index
        if index is not None and not index.local:
            raise ValidationError(
                f"{self._owner}: global index {index.name!r} supports only eventually "
                "consistent reads"
            )

    # -- compiling -----------------------------------------------------------------------

    def _key_range(self) -> KeyRange:
        sort = self.key.sk
        if sort is None:
            if self.ranges:
                raise ValidationError(f"{self._owner} has no sort key to range over")
            return KeyRange(None)
        attributes = self.entity.get_attributes()
        equal, bound = split_range(self.ranges, attributes, sort, owner=self._owner)
        compiled = compile_range(sort, equal, bound, owner=self._owner)
        if compiled.exclude is not None:
            name = attributes[compiled.exclude[0]].attr_name
            if not index_has(self.entity.__table__, self.key.index, name):
                raise ValidationError(
                    f"{self._owner}: a strict comparison on {compiled.exclude[0]!r}, the last "
                    f"field of sort key {sort.source!r}, filters out the boundary value, but "
                    f"index {self.key.index.name if self.key.index else ''!r} does not project "
                    f"{name!r}; use <= / >= with the adjacent value, or project {name!r}"
                )
        return compiled

    def _plan(self, part: ReadPart = "read", bound: TableBinding | None = None) -> Plan[E]:
        entity, key = self.entity, self.key
        table = entity.__table__
        index = key.index
        builder = ExpressionBuilder()
        partition = key.pk.build(dict(self.partition_values))
        key_range = self._key_range()
        condition = key_range.condition
        bound = bound or bind(table)  # the read goes to the table as it is now (see Plan)
        request: dict[str, Any] = {"TableName": bound.name}
        if index is not None:
            request["IndexName"] = index.name
        request["KeyConditionExpression"] = key_condition(
            builder,
            key.pk_attribute,
            {"S": partition},
            key.sk_attribute if condition else None,
            condition.operator if condition else None,
            [{"S": v} for v in condition.values] if condition else (),
        )
        type_name = entity.__type_name__
        filters, decoder, counting = read_decoding(
            table,
            index,
            self.projection,
            [type_name],
            entity=entity,
            strict=is_strict(table, None),
            part=part,
        )
        if key_range.exclude is not None:
            field, value = key_range.exclude
            filters.append(entity.get_attributes()[field] != value)
        filters.extend(self.filters)
        positions = add_read_expressions(request, builder, table, index, filters, self.projection)
        request["ScanIndexForward"] = not self.descending
        request["ConsistentRead"] = self.consistent_read
        request["ReturnConsumedCapacity"] = "TOTAL"

        return Plan(
            table=table,
            binding=bound,
            operation="Query",
            request=request,
            decode=decoder,  # type: ignore[arg-type]
            position_attributes=positions,
            digest=request_digest(request, kind="query", entity=type_name),
            partition=(key.pk_attribute, partition),
            sort_range=(key.sk_attribute, condition.matches)
            if condition and key.sk_attribute
            else None,
            page_size=self.request_limit,
            max_age=self.cursor_max_age,
            what=f"{self._owner}.query()",
            counting=counting,
            count_parts=functools.partial(self._count_parts, bound),
        )
