"""Sample items of a table's entities, for the layout documents: made from the key templates,
or read from the table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dynaorm.keys.parts import Field, parse_source

if TYPE_CHECKING:
    from dynaorm.api.table import Table

__all__ = ["generated_samples", "placeholder", "table_samples"]


def placeholder(template: str) -> str:
    """A key template with each field shown as ``<field>``.

    Example:
        >>> placeholder("ORDER#{placed_at}#{order_id:08d}")
        'ORDER#<placed_at>#<order_id>'
    """
    return "".join(
        f"<{part.name}>" if isinstance(part, Field) else part.text
        for part in parse_source(template)
    )


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
                    item.setdefault(attribute, {"S": placeholder(template.source)})
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
