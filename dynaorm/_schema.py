"""Table definitions to CreateTable/UpdateTable requests, and checks against DescribeTable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dynaorm._errors import ConfigurationError
from dynaorm._indexes import Index

if TYPE_CHECKING:
    from dynaorm._table import Table

__all__ = ["create_table_request", "gsi_create_update", "schema_mismatches"]


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


def schema_mismatches(table: Table, described: Mapping[str, Any]) -> tuple[list[str], list[Index]]:
    """Compare a DescribeTable result with the definition.

    Returns:
        The problems that cannot be fixed in place (key schema, local indexes), and the global
        indexes that are missing and can be added.
    """
    problems: list[str] = []
    if _described_keys(described["KeySchema"]) != (table.pk, table.sk):
        problems.append(
            f"table {table.name!r} has key schema {described['KeySchema']}, "
            f"the definition says pk={table.pk!r}, sk={table.sk!r}"
        )
    existing_gsis = {g["IndexName"]: g for g in described.get("GlobalSecondaryIndexes", [])}
    existing_lsis = {i["IndexName"]: i for i in described.get("LocalSecondaryIndexes", [])}
    missing: list[Index] = []
    for index in table.indexes:
        found = existing_lsis.get(index.name) if index.local else existing_gsis.get(index.name)
        if found is None:
            if index.local:
                problems.append(
                    f"local index {index.name!r} is missing; local indexes can only be "
                    "created with the table"
                )
            else:
                missing.append(index)
            continue
        expected = (table.pk, index.sk) if index.local else (index.pk, index.sk)
        if _described_keys(found["KeySchema"]) != expected:
            problems.append(
                f"index {index.name!r} has key schema {found['KeySchema']}, "
                f"the definition says {expected}"
            )
    return problems, missing


def check_fixable(table: Table, problems: list[str]) -> None:
    """Raise when the live table cannot be brought in line with the definition."""
    if problems:
        raise ConfigurationError("; ".join(problems))
