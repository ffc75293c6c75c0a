"""The single-table layout of a Table: entities x key templates, as rows and as Markdown, and
each entity's attributes with their Python and DynamoDB types.

The other documents of a layout: :mod:`dynaorm.tools.layout_html` (a standalone HTML page),
:mod:`dynaorm.tools.workbench` (NoSQL Workbench's data-model JSON); their sample items come
from :mod:`dynaorm.tools.samples`, the access patterns from
:mod:`dynaorm.tools.access_patterns`.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

__all__ = [
    "AttributeRow",
    "LayoutRow",
    "attribute_rows",
    "layout_columns",
    "layout_header",
    "layout_rows",
    "to_markdown",
]


@attrs.frozen
class LayoutRow:
    """One entity's keys: the entity-type value and a template per key column."""

    entity: str
    type_name: str
    templates: tuple[str, ...]


def layout_columns(table: Table) -> tuple[str, ...]:
    """Column headings: the table's key attributes, then each index's (``GSI1 pk`` …)."""
    columns = [f"{table.pk} (pk)"]
    if table.sk:
        columns.append(f"{table.sk} (sk)")
    for index in table.indexes:
        if index.pk is not None:
            columns.append(f"{index.name}: {index.pk}")
        if index.sk is not None:
            columns.append(f"{index.name}: {index.sk}")
    return tuple(columns)


def layout_rows(table: Table) -> list[LayoutRow]:
    """A row per entity of ``table``, sorted by entity type; empty cells where a key is absent."""
    rows = []
    for type_name in sorted(table.entities):
        entity = table.entities[type_name]
        by_attribute: dict[str, str] = {}
        for key in entity.__keys__.values():
            sources = [key.pk.source, key.sk.source if key.sk else None]
            for attribute, source in zip(
                (key.pk_attribute, key.sk_attribute), sources, strict=True
            ):
                if attribute is not None and source is not None:
                    by_attribute.setdefault(attribute, source)
        cells = [
            by_attribute.get(table.pk, ""),
            *([by_attribute.get(table.sk, "")] if table.sk else []),
        ]
        for index in table.indexes:
            if index.pk is not None:
                cells.append(by_attribute.get(index.pk, ""))
            if index.sk is not None:
                cells.append(by_attribute.get(index.sk, ""))
        rows.append(LayoutRow(entity.__qualname__, type_name, tuple(cells)))
    return rows


def layout_header(table: Table) -> list[str]:
    """The headings of the layout grid: entity, type attribute, then :func:`layout_columns`.

    Example:
        >>> from dynaorm import Table
        >>> layout_header(Table("shop"))
        ['entity', '_type', 'PK (pk)', 'SK (sk)']
    """
    return ["entity", f"{table.type_attribute}", *layout_columns(table)]


def to_markdown(table: Table) -> str:
    """The layout as a Markdown table."""

    def cell(text: str) -> str:
        return f"`{text}`".replace("|", "\\|") if text else ""

    header = layout_header(table)
    lines = [
        f"Table `{table.name}`",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in layout_rows(table):
        cells = [row.entity, cell(row.type_name), *(cell(t) for t in row.templates)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@attrs.frozen
class AttributeRow:
    """One attribute of an entity: its names and types."""

    name: str
    stored_as: str
    python_type: str
    dynamodb_type: str
    required: bool


_DYNAMODB_TYPES = {
    "S": "S (string)",
    "N": "N (number)",
    "B": "B (binary)",
    "BOOL": "BOOL",
    "M": "M (map)",
    "L": "L (list)",
    "SS": "SS (string set)",
    "NS": "NS (number set)",
    "BS": "BS (binary set)",
    "NULL": "NULL",
}


def _python_type(attribute: Any) -> str:
    """The Python type an attribute holds, from its ``Attribute[T]`` base."""
    from pynamodb.attributes import Attribute

    for cls in type(attribute).__mro__:
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is Attribute:
                (argument,) = typing.get_args(base)
                return _type_name(argument)
    return "Any"


def _type_name(annotation: Any) -> str:
    """``set[bytes]``, ``list``, ``datetime``: a type's name, type variables left out."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return annotation.__name__ if isinstance(annotation, type) else "Any"
    members = [a for a in typing.get_args(annotation) if not isinstance(a, typing.TypeVar)]
    name = getattr(origin, "__name__", str(origin))
    return f"{name}[{', '.join(_type_name(a) for a in members)}]" if members else name


def attribute_rows(entity: type[Entity]) -> list[AttributeRow]:
    """The entity's attributes in declaration order: Python type and DynamoDB type."""
    rows = []
    for name, attribute in entity.get_attributes().items():
        kind = str(attribute.attr_type)
        rows.append(
            AttributeRow(
                name=name,
                stored_as=attribute.attr_name,
                python_type=_python_type(attribute),
                dynamodb_type=_DYNAMODB_TYPES.get(kind, kind),
                required=not attribute.null,
            )
        )
    return rows
