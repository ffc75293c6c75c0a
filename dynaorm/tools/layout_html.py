"""The layout of a Table as a complete standalone HTML page: keys and indexes, the layout
grid, and per entity its attributes, keys per index, sample items and access patterns."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dynaorm.base.typed_json import item_to_json, to_json
from dynaorm.tools.access_patterns import access_patterns
from dynaorm.tools.layout import attribute_rows, layout_header, layout_rows
from dynaorm.tools.samples import generated_samples

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

__all__ = ["to_html"]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  color: #1d2330; background: #f5f6f8; }
header { background: #232f3e; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; }
header p { margin: 4px 0 0; color: #c8d0dc; }
main { padding: 8px 32px 32px; max-width: 1400px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 8px;
  margin: 18px 0; padding: 4px 20px 16px; }
h2 { font-size: 18px; margin: 14px 0 6px; }
h3 { font-size: 14px; margin: 14px 0 4px; color: #4a5568; text-transform: uppercase;
  letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { border: 1px solid #e2e6ec; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
code, pre { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: #f7f8fa; border: 1px solid #e2e6ec; padding: 8px; overflow-x: auto;
  margin: 4px 0 10px; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px;
  background: #e3ecfa; color: #1f4f99; }
.key { background: #fdf1dc; color: #8a5300; }
.muted { color: #7a8596; }
nav a { margin-right: 12px; color: #1f4f99; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _grid(headings: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table; cells are HTML already escaped by the caller."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headings)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _code(text: str) -> str:
    return f"<code>{_esc(text)}</code>" if text else ""


def _layout_table(table: Table) -> str:
    rows = [
        [_esc(r.entity), _code(r.type_name), *(_code(t) for t in r.templates)]
        for r in layout_rows(table)
    ]
    return _grid(layout_header(table), rows, "dynaorm-layout")


def _indexes_table(table: Table) -> str:
    rows = [
        [
            "<em>table</em>",
            "primary key",
            _code(table.pk),
            _code(table.sk or ""),
            "all attributes",
        ]
    ]
    for index in table.indexes:
        projection: str = index.projection
        if projection == "INCLUDE":
            projection += ": " + ", ".join(index.include)
        rows.append(
            [
                _code(index.name),
                "local secondary index" if index.local else "global secondary index",
                _code(index.pk or table.pk),
                _code(index.sk or ""),
                _esc(projection),
            ]
        )
    return _grid(["index", "kind", "partition key", "sort key", "projection"], rows)


def _entity_section(
    table: Table, type_name: str, entity: type[Entity], samples: list[Any], patterns: list[Any]
) -> str:
    parts = [
        f'<section id="entity-{_esc(type_name)}" class="entity">',
        f"<h2>{_esc(entity.__qualname__)} <span class='tag'>{_esc(table.type_attribute)} = "
        f"{_esc(type_name)}</span></h2>",
    ]
    key_fields = {field for key in entity.__keys__.values() for field in key.fields}
    attribute_table = [
        [
            _code(a.name)
            + (" <span class='tag key'>key field</span>" if a.name in key_fields else ""),
            _code(a.stored_as) if a.stored_as != a.name else "<span class='muted'>same</span>",
            _code(a.python_type),
            _esc(a.dynamodb_type),
            "required" if a.required else "<span class='muted'>optional</span>",
        ]
        for a in attribute_rows(entity)
    ]
    parts.append("<h3>Attributes</h3>")
    parts.append(
        _grid(["attribute", "stored as", "Python type", "DynamoDB type", ""], attribute_table)
    )
    key_rows = []
    for key in entity.__keys__.values():
        index = key.index
        projection: str = "all attributes (table)" if index is None else index.projection
        if index is not None and index.projection == "INCLUDE":
            projection += ": " + ", ".join(index.include)
        key_rows.append(
            [
                _code(key.name),
                _code(index.name if index else "table"),
                _code(key.pk_attribute) + " = " + _code(key.pk.source),
                (_code(key.sk_attribute or "") + " = " + _code(key.sk.source)) if key.sk else "",
                _esc(projection),
            ]
        )
    parts.append("<h3>Keys per index</h3>")
    parts.append(_grid(["key", "index", "partition key", "sort key", "projection"], key_rows))
    parts.append("<h3>Sample items</h3>")
    if samples:
        names: list[str] = []
        for item in samples:
            names.extend(n for n in item if n not in names)
        rows = [
            [_code(to_json(item[n], ensure_ascii=False)) if n in item else "" for n in names]
            for item in (item_to_json(s) for s in samples)
        ]
        parts.append(f'<div style="overflow-x:auto">{_grid(names, rows, "samples")}</div>')
    else:
        parts.append("<p class='muted'>no stored item of this type was found</p>")
    parts.append("<h3>Access patterns</h3>")
    if patterns:
        for pattern in patterns:
            parts.append(f"<h4>{_esc(pattern.name)}</h4>")
            if pattern.description:
                parts.append(f"<p>{_esc(pattern.description)}</p>")
            for member, text in pattern.expressions().items():
                parts.append(f"<p>{_esc(member)}: {_code(text)}</p>")
            request = to_json(pattern.request, indent=2, sort_keys=True)
            parts.append(f"<pre>{_esc(request)}</pre>")
    else:
        parts.append("<p class='muted'>none declared (see <code>__access_patterns__</code>)</p>")
    parts.append("</section>")
    return "\n".join(parts)


def to_html(table: Table, samples: Mapping[str, list[Any]] | None = None) -> str:
    """The layout as a complete standalone HTML page (inline CSS, no external assets).

    Args:
        table: The table.
        samples: Stored items per entity type (:func:`table_samples`); default: one item per
            entity made from its key templates (:func:`generated_samples`).
    """
    from dynaorm.base.version import __version__

    chosen = generated_samples(table) if samples is None else samples
    patterns = access_patterns(table)
    entities = sorted(table.entities.items())
    nav = " ".join(f'<a href="#entity-{_esc(t)}">{_esc(e.__qualname__)}</a>' for t, e in entities)
    sections = [
        _entity_section(
            table,
            t,
            e,
            list(chosen.get(t, [])),
            [p for p in patterns if p.entity == e.__qualname__],
        )
        for t, e in entities
    ]
    source = "generated from the key templates" if samples is None else "read from the table"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Table {_esc(table.name)}: dynaorm schema</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>Table <code>{_esc(table.name)}</code></h1>
<p>{len(entities)} entities, {len(table.indexes)} indexes, {len(patterns)} access patterns;
sample items {source}. Made by dynaorm {_esc(__version__)}.</p>
</header>
<main>
<nav>{nav}</nav>
<section>
<h2>Keys and indexes</h2>
{_indexes_table(table)}
<h2>Layout</h2>
<p class="muted">Each entity's key templates per key attribute.</p>
{_layout_table(table)}
</section>
{"".join(sections)}
</main>
</body>
</html>
"""
