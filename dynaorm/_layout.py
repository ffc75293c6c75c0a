"""The single-table layout of a Table: entities x key templates, as rows and documents."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from dynaorm._table import Table

__all__ = ["LayoutRow", "layout_columns", "layout_rows", "to_html", "to_markdown"]


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


def _header(table: Table) -> list[str]:
    return ["entity", f"{table.type_attribute}", *layout_columns(table)]


def to_markdown(table: Table) -> str:
    """The layout as a Markdown table."""

    def cell(text: str) -> str:
        return f"`{text}`".replace("|", "\\|") if text else ""

    header = _header(table)
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


def to_html(table: Table) -> str:
    """The layout as a standalone HTML table."""
    header = "".join(f"<th>{html.escape(h)}</th>" for h in _header(table))
    body = []
    for row in layout_rows(table):
        cells = [row.entity, row.type_name, *row.templates]
        body.append(
            "<tr>" + "".join(f"<td><code>{html.escape(c)}</code></td>" for c in cells) + "</tr>"
        )
    return (
        f'<table class="dynaorm-layout">\n<caption>Table {html.escape(table.name)}</caption>\n'
        f"<thead><tr>{header}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
    )
