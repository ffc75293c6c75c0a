"""Find out what a DynamoDB-compatible server supports by asking it, not by its name."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from dynaorm.api.table import Table
from dynaorm.base.errors import DynaormError, ServiceError

__all__ = ["Capabilities", "probe_capabilities"]


@attrs.frozen
class Capabilities:
    """Features a server was seen to support.

    Attributes:
        transactions: TransactWriteItems/TransactGetItems work.
        ttl: UpdateTimeToLive works.
        partiql: ExecuteStatement (PartiQL) works.
        return_values_on_condition_failure: A failed condition returns the stored item.
        idempotent_transactions: A repeated ClientRequestToken is applied once.
        enforces_batch_limits: A 26-item BatchWriteItem is rejected.
    """

    transactions: bool
    ttl: bool
    partiql: bool
    return_values_on_condition_failure: bool
    idempotent_transactions: bool
    enforces_batch_limits: bool

    def supports(self, feature: str) -> bool:
        """Whether the named feature (an attribute name of this class) is supported."""
        if feature not in attrs.fields_dict(Capabilities):
            known = ", ".join(attrs.fields_dict(Capabilities))
            raise ValueError(f"unknown capability {feature!r}; known: {known}")
        return bool(getattr(self, feature))


def _works(table: Table, operation: str, request: dict[str, Any]) -> bool:
    try:
        table.call(operation, request, idempotent=False)
    except ServiceError:
        return False
    return True


def _counter_update(table: Table, token: str) -> dict[str, Any]:
    return {
        "ClientRequestToken": token,
        "TransactItems": [
            {
                "Update": {
                    "TableName": table.name,
                    "Key": {"PK": {"S": "counter"}},
                    "UpdateExpression": "ADD #n :one",
                    "ExpressionAttributeNames": {"#n": "n"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
        ],
    }


def _returns_old_item(table: Table) -> bool:
    table.call("PutItem", {"TableName": table.name, "Item": {"PK": {"S": "x"}}}, idempotent=True)
    request = {
        "TableName": table.name,
        "Item": {"PK": {"S": "x"}},
        "ConditionExpression": "attribute_not_exists(PK)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        table.call("PutItem", request, idempotent=False)
    except DynaormError as exc:
        return bool(getattr(exc, "item", None))
    return False


def _rejects_26_writes(table: Table) -> bool:
    puts = [{"PutRequest": {"Item": {"PK": {"S": f"b{i}"}}}} for i in range(26)]
    return not _works(table, "BatchWriteItem", {"RequestItems": {table.name: puts}})


def probe_capabilities(name_prefix: str = "dynaorm-probe") -> Capabilities:
    """Create a scratch table on the configured endpoint, try each feature, delete the table."""
    table = Table(f"{name_prefix}-{uuid.uuid4().hex[:12]}", pk="PK", sk=None)
    table.create(wait=True)
    try:
        ttl = _works(
            table,
            "UpdateTimeToLive",
            {
                "TableName": table.name,
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires"},
            },
        )
        token = uuid.uuid4().hex
        transactions = _works(table, "TransactWriteItems", _counter_update(table, token))
        idempotent = False
        if transactions:
            _works(table, "TransactWriteItems", _counter_update(table, token))
            got = table.call(
                "GetItem",
                {"TableName": table.name, "Key": {"PK": {"S": "counter"}}, "ConsistentRead": True},
                idempotent=True,
            )
            idempotent = got.get("Item", {}).get("n", {}).get("N") == "1"
        partiql = _works(table, "ExecuteStatement", {"Statement": f'SELECT * FROM "{table.name}"'})
        return Capabilities(
            transactions=transactions,
            ttl=ttl,
            partiql=partiql,
            return_values_on_condition_failure=_returns_old_item(table),
            idempotent_transactions=idempotent,
            enforces_batch_limits=_rejects_26_writes(table),
        )
    finally:
        table.delete(missing_ok=True, wait=False)
