"""The layout of a Table as a NoSQL Workbench data model (JSON, to import in its data
modeler)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dynaorm.base.typed_json import item_to_json
from dynaorm.tools.samples import generated_samples, placeholder

if TYPE_CHECKING:
    from dynaorm.api.table import Table

__all__ = ["to_workbench"]


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
        alias = {"PartitionKeyAlias": placeholder(primary.pk.source)}
        if primary.sk is not None:
            alias["SortKeyAlias"] = placeholder(primary.sk.source)
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
