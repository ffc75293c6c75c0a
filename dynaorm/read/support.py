"""Helpers queries, item collections and scans share: keys, projections, filters, decoding."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from dynaorm.base.errors import ValidationError
from dynaorm.base.limits import check_value
from dynaorm.expressions.compile import ExpressionBuilder, operand_values
from dynaorm.expressions.operands import Operand
from dynaorm.expressions.paths import path_head, path_of, top_name
from dynaorm.model.decode import Decoder
from dynaorm.model.dynamic import is_dynamic
from dynaorm.model.indexes import Index
from dynaorm.model.key_only import projected_key_attributes, refuse_key_only_paths

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

__all__ = [
    "check_filter_paths",
    "condition_paths",
    "filter_expression",
    "index_has",
    "partly_read",
    "position_attributes",
    "projection_paths",
    "read_decoding",
    "require_type_attribute",
    "returned_attributes",
    "type_filter",
]


def condition_paths(node: Any) -> Iterator[Path]:
    """Every document path a condition (or operand) mentions."""
    if isinstance(node, Path):
        yield node
    elif isinstance(node, Condition | Operand):
        for child in node.values:
            yield from condition_paths(child)


def position_attributes(table: Table, index: Index | None) -> tuple[str, ...]:
    """The key attributes that locate an item in the table or index (an exclusive start key)."""
    names = [table.pk, *([table.sk] if table.sk else [])]
    if index is not None:
        names = [*index.key_attributes, *names]
    return tuple(dict.fromkeys(names))


def index_has(table: Table, index: Index | None, attribute: str) -> bool:
    """Whether reads through ``index`` can return ``attribute`` (a local index fetches
    unprojected attributes from the table; a global one cannot)."""
    if index is None or index.local or index.projection == "ALL":
        return True
    return attribute in position_attributes(table, index) or attribute in index.include


def require_type_attribute(table: Table, index: Index | None, what: str) -> None:
    """Refuse a typed read through an index that does not hold the type attribute: it could
    neither filter its items by type nor tell them apart, so it would return other types'
    items as this one, or (filtered) nothing at all.

    Raises:
        ValidationError: ``index`` is a ``KEYS_ONLY`` global index (an ``INCLUDE`` one always
            projects the type attribute).
    """
    if index is None or index_has(table, index, table.type_attribute):
        return
    raise ValidationError(
        f"{what}: index {index.name!r} has projection {index.projection} and does not hold "
        f"the type attribute {table.type_attribute!r}, so its items cannot be told apart by "
        "type; define it with projection='ALL' or 'INCLUDE' (which always projects the type "
        "attribute), or read the keys with a raw request"
    )


def type_filter(table: Table, type_names: Sequence[str], *, untyped: bool = False) -> Condition:
    """``type = :t`` for one type name, ``type IN (...)`` for several; with ``untyped``, OR
    ``attribute_not_exists(type)``, so that items without the type attribute come back to be
    reported (or classified) instead of being dropped unseen by the server."""
    path = Path([table.type_attribute])
    if len(type_names) == 1:
        condition: Condition = path == type_names[0]
    else:
        condition = path.is_in(*type_names)
    if untyped:
        condition = condition | path.does_not_exist()
    return condition


def returned_attributes(
    table: Table, index: Index | None, projection: Sequence[Path]
) -> frozenset[str] | None:
    """The top-level attributes a Query or Scan can return; ``None`` for whole items.

    With a projection: the selected attributes plus type and keys, as far as the index holds
    them. Without one: everything from the table or an ``ALL`` index, only the projected
    attributes from any other index (DynamoDB reads ``ALL_PROJECTED_ATTRIBUTES`` there, from a
    local index too).
    """
    if projection:
        names = {top_name(p) for p in projection}
        names.update(projected_key_attributes(table, names))
        names.update((table.type_attribute, *position_attributes(table, index)))
        return frozenset(n for n in names if index_has(table, index, n))
    if index is None or index.projection == "ALL":
        return None
    return frozenset((*position_attributes(table, index), *index.include))


def partly_read(projection: Iterable[Path]) -> frozenset[str]:
    """The top-level attributes a projection reads only through nested paths
    (``Doc.meta["colour"]``, ``Doc.tags[0]``) and never whole: the decoder makes an entity
    holding one partial, since the attribute holds only the selected members."""
    whole: set[str] = set()
    nested: set[str] = set()
    for path in projection:
        name, deeper = path_head(path)
        (nested if deeper else whole).add(name)
    return frozenset(nested - whole)


ReadPart = Literal["read", "typed", "untyped"]
Counting = Literal["count", "split", "read"]

# DynamoDB takes at most 100 operands in one IN comparison.
_MOST_IN_OPERANDS = 100


def read_decoding(
    table: Table,
    index: Index | None,
    projection: Sequence[Path],
    type_names: Sequence[str],
    *,
    entity: type[Entity] | None,
    strict: bool,
    part: ReadPart = "read",
) -> tuple[list[Condition], Decoder, Counting]:
    """The type filter and the decoder of a Query or Scan, and how ``count()`` counts it.

    Items without the type attribute are not filtered out on the server when the response
    carries the type attribute: they come back, and the decoder makes them
    :class:`~dynaorm.UnknownItem` records (or raises, ``strict``). When the response cannot
    carry it (an index that does not project it), items are taken to be ``entity``.

    ``count()`` must count exactly the results the read gives. ``Select=COUNT`` of the read's
    own request does that when every item it returns is a result (``"count"``: a mixed read
    that keeps unknown items, or one that cannot tell types apart). Otherwise
    (``"split"``) it counts the typed items with ``Select=COUNT`` (``part="typed"``: the
    plain type filter) and reads the items the type filter lets through only to decode them
    (``part="untyped"``: no type attribute, or, for a strict read of every type, a type no
    entity has), which are normally none: the decoder then classifies, reports or raises as
    pages do. ``"read"``: no such filter can be written (a strict read of every type of a
    table with no or more than 100 entities); count by reading.

    Args:
        table: The table read.
        index: The index read, if any.
        projection: The selected paths.
        type_names: The entity types to filter on (none: every type).
        entity: The one entity type the read returns (``None``: a mixed read).
        strict: Raise for unknown items.
        part: Which items the filter lets through: every one the read decodes, only those
            of the asked types, or only the others (see above).
    """
    returned = returned_attributes(table, index, projection)
    if not table.store_type:
        # No type attribute to filter on: every item comes back and the table's classify
        # rule decides, client-side (Decoder.read); count() counts by reading.
        asked = [table.entities[name] for name in type_names]
        decoder = Decoder(
            table,
            entities=(entity,) if entity is not None else (tuple(asked) or None),
            returned=returned,
            partly=partly_read(projection),
            strict=strict,
        )
        return [], decoder, "read"
    carried = returned is None or table.type_attribute in returned
    filters: list[Condition] = []
    counting: Counting = "count"
    names = list(type_names)
    if carried and not names and strict:
        # A strict read of every type raises for an item no registered entity has a type of.
        names = list(table.entities)
        counting = "split" if 0 < len(names) <= _MOST_IN_OPERANDS else "read"
    elif carried and names and (entity is not None or strict):
        counting = "split"
    if part == "read":
        if type_names and index_has(table, index, table.type_attribute):
            filters.append(type_filter(table, type_names, untyped=carried))
    elif counting == "split":
        typed = type_filter(table, names)
        if part == "typed":
            filters.append(typed)
        else:
            untyped = Path([table.type_attribute]).does_not_exist()
            filters.append(untyped if type_names else untyped | ~typed)
    decoder = Decoder(
        table,
        entities=(entity,) if entity is not None else None,
        returned=returned,
        partly=partly_read(projection),
        assumed=entity if entity is not None and not carried else None,
        strict=strict,
    )
    return filters, decoder, counting if part == "read" else "count"


def filter_expression(builder: ExpressionBuilder, conditions: Iterable[Condition]) -> str:
    """AND the conditions at the top level (compound conditions carry their own brackets)."""
    return " AND ".join(builder.condition(c) for c in conditions)


def projection_paths(
    table: Table,
    index: Index | None,
    selected: Sequence[Path],
    extras: Iterable[str],
) -> list[Path]:
    """The selected paths plus the attributes reads always need (type, keys) when the index
    can return them."""
    return [*selected, *(path_of(name) for name in extras if index_has(table, index, name))]


def add_read_expressions(
    request: dict[str, Any],
    builder: ExpressionBuilder,
    table: Table,
    index: Index | None,
    filters: Sequence[Condition],
    projection: Sequence[Path],
) -> tuple[str, ...]:
    """Add FilterExpression, ProjectionExpression and the placeholder maps to a Query/Scan
    request; returns the key attributes that locate an item (for cursors)."""
    if filters:
        request["FilterExpression"] = filter_expression(builder, filters)
    positions = position_attributes(table, index)
    if projection:
        # Key-only fields (store_key_fields=False) are read from the keys that hold them.
        keys = sorted(projected_key_attributes(table, {top_name(p) for p in projection}))
        extras = [table.type_attribute, *positions, *keys]
        paths = projection_paths(table, index, projection, extras)
        request["ProjectionExpression"] = builder.projection(paths)
    request.update(builder.members())
    return positions


def check_filter_paths(
    condition: Condition,
    table: Table,
    entity: type[Entity] | None,
    *,
    refuse_keys: bool,
    what: str,
) -> None:
    """Refuse filters on key attributes (queries), on attributes of another entity, and
    values DynamoDB cannot take (NaN, infinity, numbers past 38 digits, invalid text).

    Raises:
        ValidationError: The condition names such an attribute or holds such a value.
    """
    attributes: dict[str, Attribute[Any]] = entity.get_attributes() if entity else {}
    owned = {id(a) for a in attributes.values()}
    names = {a.attr_name for a in attributes.values()} | {table.type_attribute}
    for path in condition_paths(condition):
        name = top_name(path)
        if refuse_keys and name in table.key_attributes:
            raise ValidationError(
                f"{what}: the filter names key attribute {name!r}; DynamoDB refuses key "
                "attributes in a query's filter. Restrict the key with range(...) instead."
            )
        if entity is None or path.attribute is None or is_dynamic(entity, name):
            continue
        nested = len(path.attribute.attr_path) > 1
        if (nested and name not in names) or (not nested and id(path.attribute) not in owned):
            raise ValidationError(
                f"{what}: the filter names {'.'.join(path.path)!r}, which is not an attribute "
                f"of {entity.__qualname__}"
            )
    for value in operand_values(condition):
        check_value(value.value, what=f"{what} (filter value)")
    readers = [entity] if entity is not None else list(table.entities.values())
    refuse_key_only_paths(readers, condition, what)
