"""Helpers queries, item collections and scans share: keys, projections, filters, decoding."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, _Operand

from dynaorm._errors import UnknownEntityType, ValidationError
from dynaorm._expressions import ExpressionBuilder, operand_values, path_of
from dynaorm._indexes import Index
from dynaorm._limits import check_value
from dynaorm._paging import UnknownItem

if TYPE_CHECKING:
    from dynaorm._entity import Entity
    from dynaorm._table import Table

__all__ = [
    "check_filter_paths",
    "condition_paths",
    "decode_any",
    "filter_expression",
    "index_has",
    "position_attributes",
    "projection_paths",
    "require_type_attribute",
    "restore_key_fields",
    "top_name",
    "type_filter",
]

# "\Z", not "$" (which also matches before a final newline, cutting it off the name); ASCII
# digits only, as DynamoDB takes no other in a list index.
_TRAILING_INDEXES = re.compile(r"^(.*?)((?:\[[0-9]+\])*)\Z", re.DOTALL)


def top_name(path: Path) -> str:
    """The top-level attribute a document path starts at (list indexes stripped)."""
    if path.attribute is not None and path.attribute.attr_path:
        return str(path.attribute.attr_path[0])
    match = _TRAILING_INDEXES.match(path.path[0])
    assert match is not None
    return match.group(1)


def condition_paths(node: Any) -> Iterator[Path]:
    """Every document path a condition (or operand) mentions."""
    if isinstance(node, Path):
        yield node
    elif isinstance(node, Condition | _Operand):
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


def type_filter(table: Table, type_names: Sequence[str]) -> Condition:
    """``type = :t`` for one type name, ``type IN (...)`` for several."""
    path = Path([table.type_attribute])
    if len(type_names) == 1:
        condition: Condition = path == type_names[0]
    else:
        condition = path.is_in(*type_names)
    return condition


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
        paths = projection_paths(table, index, projection, [table.type_attribute, *positions])
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
        if entity is None or path.attribute is None:
            continue
        nested = len(path.attribute.attr_path) > 1
        if (nested and name not in names) or (not nested and id(path.attribute) not in owned):
            raise ValidationError(
                f"{what}: the filter names {'.'.join(path.path)!r}, which is not an attribute "
                f"of {entity.__qualname__}"
            )
    for value in operand_values(condition):
        check_value(value.value, what=f"{what} (filter value)")


def restore_key_fields(instance: Entity, item: Mapping[str, Any]) -> None:
    """Fill a partial entity's unset key-template fields from the key attributes it was read
    with, so it still knows its primary key (``item_key``) and index keys."""
    stored = instance.attribute_values
    for key in type(instance).__keys__.values():
        physical = [a for a in (key.pk_attribute, key.sk_attribute) if a is not None]
        if not all(isinstance(item.get(a), Mapping) and "S" in item[a] for a in physical):
            continue
        try:
            values = key.parse(item)
        except ValidationError:
            continue
        for name, value in values.items():
            if stored.get(name) is None:
                setattr(instance, name, value)


def decode_any(table: Table, *, strict: bool) -> Callable[[dict[str, Any]], Entity | UnknownItem]:
    """A decoder for multi-type reads: the right entity, or an :class:`UnknownItem`.

    Args:
        table: The table whose registered entities decode items.
        strict: Raise :class:`~dynaorm.UnknownEntityType` instead of keeping unknown items.
    """

    def decode(item: dict[str, Any]) -> Entity | UnknownItem:
        try:
            entity = table.entity_for(item)
        except UnknownEntityType as exc:
            if strict:
                raise
            return UnknownItem(exc.type_name, item)
        return entity.from_item(item)

    return decode
