"""Unknown items: items no entity of the table claims, and how reads keep or refuse them.

An item no registered entity claims (no type attribute, or a type naming no entity, and the
table's ``classify`` hook does not claim it), and an item not stored under the primary key its
entity builds from the decoded attributes (a key in another format: ``E#1`` where the template
builds ``E#0001``), is never turned into an entity and never dropped without a trace: per the
table's ``unknown_items`` policy it becomes an :class:`UnknownItem` record (``"keep"``) or
raises :class:`~dynaorm.UnknownEntityType` (``"raise"``). Reads that return one entity
(``get``, ``refresh``) always raise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import (
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
    "UnknownItem",
    "UnknownPolicy",
    "classified",
    "is_strict",
    "misplaced",
    "report_unknown",
    "stored_key",
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


def is_strict(table: Table, strict: bool | None) -> bool:
    """Whether a read raises for unknown items: ``strict`` when given, else the table's
    ``unknown_items`` policy."""
    if strict is not None:
        return bool(strict)
    return getattr(table, "unknown_items", "keep") == "raise"


def stored_key(table: TableDefinition, item: Mapping[str, Any]) -> dict[str, Any]:
    """The primary key of a raw item, its text values unwrapped, for messages.

    Example:
        >>> from types import SimpleNamespace
        >>> stored_key(SimpleNamespace(pk="PK", sk="SK"), {"PK": {"S": "A#1"}, "n": {"N": "1"}})
        {'PK': 'A#1'}
    """
    out: dict[str, Any] = {}
    for name in (table.pk, table.sk):
        value = item.get(name) if name else None
        if isinstance(value, Mapping):
            out[str(name)] = value.get("S", value)
    return out


def classified(table: TableDefinition, item: Mapping[str, Any]) -> type[Entity] | None:
    """The entity the table's ``classify`` hook (or rule, :mod:`dynaorm.model.classify`) says
    ``item`` is (``None``: no hook, or it does not claim the item). The hook may return an
    entity class or its type name.

    Raises:
        ConfigurationError: The hook returned something that is not an entity of the table.
    """
    classify = getattr(table, "classify", None)
    if classify is None:
        return None
    cls = classify(item)
    if cls is None:
        return None
    if isinstance(cls, str):
        named = table.entities.get(cls)
        if named is None:
            raise ConfigurationError(
                f"table {table.name!r}: classify returned {cls!r}, which names no entity of "
                f"the table (types: {', '.join(sorted(table.entities)) or 'none'})"
            )
        return named
    if table.entities.get(getattr(cls, "__type_name__", "")) is not cls:
        raise ConfigurationError(
            f"table {table.name!r}: classify returned {cls!r}, which is not an entity of "
            "the table; return one of its entity classes, its type name, or None"
        )
    return cls


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
        f"item {stored_key(table, item)} has type {type_name!r} but is not stored under the key "
        f"{cls.__qualname__} builds from its attributes ({primary.describe()} gives {built}), "
        "so it is not taken for one: as an entity it would read, save and delete the item at "
        "that other key. It was written under another key format (an older template, another "
        "tool); rewrite it under the key its attributes build",
        type_name=type_name,
        item=item,
    )


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
        [stored_key(table, u.item) for u in unknown[:3]],
    )
