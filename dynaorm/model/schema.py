"""Table definitions to CreateTable/UpdateTable requests, and checks against DescribeTable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import SchemaMismatch
from dynaorm.model.indexes import Index

if TYPE_CHECKING:
    from dynaorm.model.table import TableDefinition as Table

__all__ = [
    "SchemaDifference",
    "check_fixable",
    "create_table_request",
    "gsi_create_update",
    "schema_mismatches",
]


def _key_schema(pk: str, sk: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": pk, "KeyType": "HASH"}]
    if sk is not None:
        schema.append({"AttributeName": sk, "KeyType": "RANGE"})
    return schema


def _attribute_definitions(names: Iterable[str]) -> list[dict[str, str]]:
    # Key templates always render text, so every key attribute is a string.
    return [{"AttributeName": name, "AttributeType": "S"} for name in dict.fromkeys(names)]


def _throughput(read: int | None, write: int | None) -> dict[str, int]:
    return {"ReadCapacityUnits": read or 1, "WriteCapacityUnits": write or 1}


def _gsi(table: Table, index: Index) -> dict[str, Any]:
    assert index.pk is not None
    spec: dict[str, Any] = {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.pk, index.sk),
        "Projection": index.projection_spec(),
    }
    if table.billing_mode == "PROVISIONED":
        spec["ProvisionedThroughput"] = _throughput(index.read_capacity, index.write_capacity)
    return spec


def create_table_request(table: Table) -> dict[str, Any]:
    """The CreateTable request for ``table``'s definition."""
    key_names = [table.pk, *([table.sk] if table.sk else [])]
    for index in table.indexes:
        key_names.extend(index.key_attributes)
    request: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": _key_schema(table.pk, table.sk),
        "AttributeDefinitions": _attribute_definitions(key_names),
        "BillingMode": table.billing_mode,
    }
    if table.billing_mode == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(table.read_capacity, table.write_capacity)
    gsis = [_gsi(table, i) for i in table.indexes if not i.local]
    lsis = [
        {
            "IndexName": i.name,
            "KeySchema": _key_schema(table.pk, i.sk),
            "Projection": i.projection_spec(),
        }
        for i in table.indexes
        if i.local
    ]
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    return request


def gsi_create_update(table: Table, index: Index) -> dict[str, Any]:
    """The UpdateTable request that adds global index ``index`` to an existing table."""
    return {
        "TableName": table.name,
        "AttributeDefinitions": _attribute_definitions(index.key_attributes),
        "GlobalSecondaryIndexUpdates": [{"Create": _gsi(table, index)}],
    }


def _described_keys(schema: Iterable[Mapping[str, str]]) -> tuple[str | None, str | None]:
    hash_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


@attrs.frozen
class SchemaDifference:
    """One way the live table differs from its definition (see :class:`~dynaorm.SchemaMismatch`).

    Attributes:
        index: The index it concerns, ``None`` for the table itself.
        aspect: ``"key schema"``, ``"key types"``, ``"projection type"``,
            ``"projected attributes"`` or ``"presence"`` (a local index the table lacks).
        expected: What the definition says.
        found: What the table has.

    Example:
        >>> print(SchemaDifference("GSI1", "projection type", "ALL", "KEYS_ONLY"))
        index 'GSI1' has projection type 'KEYS_ONLY', the definition says 'ALL'
    """

    index: str | None
    aspect: str
    expected: Any
    found: Any

    def __str__(self) -> str:
        if self.aspect == "presence":
            return (
                f"local index {self.index!r} is missing; local indexes can only be created "
                "with the table"
            )
        subject = "the table" if self.index is None else f"index {self.index!r}"
        return f"{subject} has {self.aspect} {self.found!r}, the definition says {self.expected!r}"


def _key_types(
    definitions: Mapping[str, str], names: Iterable[str | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """Expected (always ``S``: keys are rendered templates) and found types of the key
    attributes the table describes (a server that leaves one out is not contradicted)."""
    found = {n: definitions[n] for n in names if n is not None and n in definitions}
    return dict.fromkeys(found, "S"), found


def _projection(spec: Mapping[str, Any]) -> tuple[str, list[str]]:
    return str(spec.get("ProjectionType", "ALL")), sorted(spec.get("NonKeyAttributes", []))


def _index_differences(
    index: Index,
    found: Mapping[str, Any],
    expected_keys: tuple[str | None, str | None],
    definitions: Mapping[str, str],
) -> list[SchemaDifference]:
    differences: list[SchemaDifference] = []
    found_keys = _described_keys(found["KeySchema"])
    if found_keys != expected_keys:
        differences.append(SchemaDifference(index.name, "key schema", expected_keys, found_keys))
    want_types, have_types = _key_types(definitions, found_keys)
    if found_keys == expected_keys and want_types != have_types:
        differences.append(SchemaDifference(index.name, "key types", want_types, have_types))
    want_type, want_attributes = _projection(index.projection_spec())
    have_type, have_attributes = _projection(found.get("Projection", {}))
    if want_type != have_type:
        differences.append(SchemaDifference(index.name, "projection type", want_type, have_type))
    elif want_attributes != have_attributes:
        differences.append(
            SchemaDifference(index.name, "projected attributes", want_attributes, have_attributes)
        )
    return differences


def schema_mismatches(
    table: Table, described: Mapping[str, Any]
) -> tuple[list[SchemaDifference], list[Index]]:
    """Compare a DescribeTable result with the definition.

    Returns:
        Every difference that cannot be fixed in place (table keys and their types, each
        index's key schema, key types, projection type and projected attributes, missing
        local indexes), and the global indexes that are missing and can be added.
    """
    differences: list[SchemaDifference] = []
    definitions = {
        d["AttributeName"]: d["AttributeType"] for d in described.get("AttributeDefinitions", [])
    }
    table_keys = _described_keys(described["KeySchema"])
    if table_keys != (table.pk, table.sk):
        differences.append(SchemaDifference(None, "key schema", (table.pk, table.sk), table_keys))
    else:
        want_types, have_types = _key_types(definitions, table_keys)
        if want_types != have_types:
            differences.append(SchemaDifference(None, "key types", want_types, have_types))
    existing_gsis = {g["IndexName"]: g for g in described.get("GlobalSecondaryIndexes", [])}
    existing_lsis = {i["IndexName"]: i for i in described.get("LocalSecondaryIndexes", [])}
    missing: list[Index] = []
    for index in table.indexes:
        found = existing_lsis.get(index.name) if index.local else existing_gsis.get(index.name)
        if found is None:
            if index.local:
                differences.append(SchemaDifference(index.name, "presence", "present", "missing"))
            else:
                missing.append(index)
            continue
        expected = (table.pk, index.sk) if index.local else (index.pk, index.sk)
        differences.extend(_index_differences(index, found, expected, definitions))
    return differences, missing


def check_fixable(table: Table, differences: list[SchemaDifference]) -> None:
    """Raise when the live table cannot be brought in line with the definition.

    Raises:
        SchemaMismatch: Naming every difference at once.
    """
    if differences:
        listed = "; ".join(str(d) for d in differences)
        raise SchemaMismatch(
            f"table {table.name!r} does not match its definition "
            f"({len(differences)} difference{'s' if len(differences) > 1 else ''}): {listed}",
            table=table.name,
            differences=differences,
        )
