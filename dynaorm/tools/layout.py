"""The single-table layout of a Table: entities x key templates, as rows and documents
(Markdown, a standalone HTML page, NoSQL Workbench's data-model JSON), with sample items and
the access patterns entities declare in ``__access_patterns__``."""

from __future__ import annotations

import html
import json
import re
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import ConfigurationError
from dynaorm.base.typed_json import item_to_json, to_json
from dynaorm.expressions.compile import render

if TYPE_CHECKING:
    from dynaorm.model.entity import Entity
    from dynaorm.model.table import Table

__all__ = [
    "AccessPattern",
    "AttributeRow",
    "LayoutRow",
    "access_patterns",
    "attribute_rows",
    "generated_samples",
    "layout_columns",
    "layout_rows",
    "table_samples",
    "to_html",
    "to_markdown",
    "to_workbench",
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


_FIELD = re.compile(r"\{(\w+)[^}]*\}")


def _placeholder(template: str) -> str:
    """A key template with each field shown as ``<field>``."""
    return _FIELD.sub(lambda m: f"<{m.group(1)}>", template)


_SAMPLE_VALUES: dict[str, Callable[[str], Any]] = {
    "S": lambda name: {"S": f"<{name}>"},
    "N": lambda name: {"N": "0"},
    "B": lambda name: {"B": b"\x00"},
    "BOOL": lambda name: {"BOOL": True},
    "M": lambda name: {"M": {}},
    "L": lambda name: {"L": []},
    "SS": lambda name: {"SS": [f"<{name}>"]},
    "NS": lambda name: {"NS": ["0"]},
    "BS": lambda name: {"BS": [b"\x00"]},
}


def generated_samples(table: Table) -> dict[str, list[dict[str, Any]]]:
    """One sample item per entity type, made from its key templates with ``<field>``
    placeholders (typed, as stored; nothing is read from the table)."""
    samples: dict[str, list[dict[str, Any]]] = {}
    for type_name, entity in sorted(table.entities.items()):
        item: dict[str, Any] = {}
        for key in entity.__keys__.values():
            templates = ((key.pk_attribute, key.pk), (key.sk_attribute, key.sk))
            for attribute, template in templates:
                if attribute is not None and template is not None:
                    item.setdefault(attribute, {"S": _placeholder(template.source)})
        item[table.type_attribute] = {"S": type_name}
        for field, declared in entity.get_attributes().items():
            make = _SAMPLE_VALUES.get(str(declared.attr_type))
            if make is not None:
                item.setdefault(declared.attr_name, make(field))
        samples[type_name] = [item]
    return samples


def table_samples(table: Table, per_entity: int, *, pages: int = 20) -> dict[str, list[Any]]:
    """Up to ``per_entity`` stored items of each entity type, raw, from a scan of at most
    ``pages`` pages (so a big table is not read whole).

    Raises:
        TableNotFound: The table does not exist.
    """
    found: dict[str, list[Any]] = {name: [] for name in sorted(table.entities)}
    request: dict[str, Any] = {"TableName": table.name, "Limit": 100}
    for _ in range(pages):
        response = table.call("Scan", request, idempotent=True)
        for item in response.get("Items", []):
            type_name = item.get(table.type_attribute, {}).get("S")
            if type_name in found and len(found[type_name]) < per_entity:
                found[type_name].append(item)
        if all(len(items) >= per_entity for items in found.values()):
            break
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found


@attrs.frozen
class AccessPattern:
    """An access pattern an entity declares, with the request it compiles to."""

    entity: str
    name: str
    description: str
    request: dict[str, Any]

    def expressions(self) -> dict[str, str]:
        """The request's expressions with names and values filled back in."""
        members = ("KeyConditionExpression", "FilterExpression", "ProjectionExpression")
        return {m: render(self.request[m], self.request) for m in members if m in self.request}


def access_patterns(table: Table) -> list[AccessPattern]:
    """The access patterns of ``table``'s entities: each entity's ``__access_patterns__``, a
    mapping of a name to a function without arguments returning a query (its docstring, if
    any, describes it), compiled.

    Raises:
        ConfigurationError: A declaration is not such a mapping, or its function fails or
            returns something without ``.compile()``.
    """
    patterns = []
    for _, entity in sorted(table.entities.items()):
        declared = entity.__dict__.get("__access_patterns__")
        if declared is None:
            continue
        if not isinstance(declared, Mapping):
            raise ConfigurationError(
                f"{entity.__qualname__}.__access_patterns__ maps a name to a function returning "
                f"a query, not {type(declared).__name__}"
            )
        for name, factory in declared.items():
            where = f"{entity.__qualname__}.__access_patterns__[{name!r}]"
            if not callable(factory):
                raise ConfigurationError(f"{where} is not a function")
            try:
                query = factory()
                request: dict[str, Any] = query.compile()
            except ConfigurationError:
                raise
            except Exception as exc:
                raise ConfigurationError(f"{where} failed: {type(exc).__name__}: {exc}") from None
            doc = (factory.__doc__ or "").strip() if not _is_lambda(factory) else ""
            patterns.append(AccessPattern(entity.__qualname__, str(name), doc, request))
    return patterns


def _is_lambda(function: Any) -> bool:
    return getattr(function, "__name__", "") == "<lambda>"


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
    return _grid(_header(table), rows, "dynaorm-layout")


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


def _physical_attributes(table: Table) -> dict[str, str]:
    """Every non-key attribute name of the table's entities with its DynamoDB type."""
    found: dict[str, str] = {}
    for index in table.indexes:
        for name in (index.pk, index.sk):
            if name is not None:
                found.setdefault(name, "S")
    found.setdefault(table.type_attribute, "S")
    for _, entity in sorted(table.entities.items()):
        for attribute in entity.get_attributes().values():
            found.setdefault(attribute.attr_name, str(attribute.attr_type))
    for name in (table.pk, table.sk):
        found.pop(name or "", None)
    return found


def _key_attributes(pk: str, sk: str | None) -> dict[str, Any]:
    keys: dict[str, Any] = {"PartitionKey": {"AttributeName": pk, "AttributeType": "S"}}
    if sk is not None:
        keys["SortKey"] = {"AttributeName": sk, "AttributeType": "S"}
    return keys


def to_workbench(table: Table, samples: Mapping[str, list[Any]] | None = None) -> str:
    """The table as a NoSQL Workbench data model (JSON, to import in its data modeler): the
    key attributes, every attribute with its type, a facet per entity type (its key
    templates as aliases, its attributes, its sample items), the global secondary indexes
    and the samples as table data. Local indexes are listed in the model's description
    (Workbench models only global ones).

    Args:
        table: The table.
        samples: Items per entity type, as for :func:`to_html`.
    """
    from dynaorm.base.version import __version__

    chosen = generated_samples(table) if samples is None else samples
    types = _physical_attributes(table)
    facets = []
    all_items: list[dict[str, Any]] = []
    for type_name, entity in sorted(table.entities.items()):
        primary = entity.__primary__
        alias = {"PartitionKeyAlias": _placeholder(primary.pk.source)}
        if primary.sk is not None:
            alias["SortKeyAlias"] = _placeholder(primary.sk.source)
        items = [item_to_json(item) for item in chosen.get(type_name, [])]
        all_items.extend(items)
        names = [table.type_attribute]
        for key in entity.__keys__.values():
            if key.index is not None:
                names.extend(n for n in (key.pk_attribute, key.sk_attribute) if n)
        names.extend(a.attr_name for a in entity.get_attributes().values())
        facets.append(
            {
                "FacetName": type_name,
                "KeyAttributeAlias": alias,
                "TableData": items,
                "NonKeyAttributes": list(dict.fromkeys(names)),
                "DataAccess": {"MySql": {}},
            }
        )
    indexes = []
    for index in table.indexes:
        if index.local:
            continue
        projection: dict[str, Any] = {"ProjectionType": index.projection}
        if index.projection == "INCLUDE":
            projection["NonKeyAttributes"] = list(index.include)
        indexes.append(
            {
                "IndexName": index.name,
                "KeyAttributes": _key_attributes(index.pk or table.pk, index.sk),
                "Projection": projection,
            }
        )
    local = [index.name for index in table.indexes if index.local]
    now = datetime.now(UTC).strftime("%b %d, %Y, %I:%M %p")
    model = {
        "ModelName": table.name,
        "ModelMetadata": {
            "Author": "dynaorm",
            "DateCreated": now,
            "DateLastModified": now,
            "Description": f"Table {table.name}, exported by dynaorm {__version__}"
            + (f"; local indexes not shown: {', '.join(local)}" if local else ""),
            "AWSService": "Amazon DynamoDB",
            "Version": "3.0",
        },
        "DataModel": [
            {
                "TableName": table.name,
                "KeyAttributes": _key_attributes(table.pk, table.sk),
                "NonKeyAttributes": [
                    {"AttributeName": name, "AttributeType": kind} for name, kind in types.items()
                ],
                "TableFacets": facets,
                "GlobalSecondaryIndexes": indexes,
                "TableData": all_items,
                "DataAccess": {"MySql": {}},
                "BillingMode": "PAY_PER_REQUEST",
            }
        ],
    }
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"
