"""The embedded server's item constructor (dynaorm/tools/local_items.py): linear in the item's
size, and refusing exactly the items moto's own constructor refuses."""

from __future__ import annotations

import pytest

from dynaorm import ServiceError, Settings, Table
from dynaorm.local import LocalDynamoDB
from dynaorm.testing import unique_table_name


def _item(key: str, sizes: list[int]) -> dict[str, object]:
    """An item whose attributes ``a0``, ``a1``, ... hold strings of the given lengths."""
    item: dict[str, object] = {"PK": {"S": key}, "SK": {"S": "S"}}
    item.update({f"a{i}": {"S": "x" * n} for i, n in enumerate(sizes)})
    return item


def test_the_embedded_server_keeps_motos_item_size_limit() -> None:
    """The linear-time item constructor refuses exactly what moto's own check refuses."""
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    from dynaorm.tools.local_items import install

    with LocalDynamoDB() as server:
        assert install()  # the server installed it; moto still has the expected shape
        table = Table(
            unique_table_name("test-local-size"),
            settings=Settings(endpoint_url=server.endpoint_url),
        )
        table.create()
        # Sizes count attribute names and values, keys included: PK + "k1" + SK + "S" = 6.
        overhead = len("PK") + len("k1") + len("SK") + len("S")
        names = len("a0") + len("a1") + len("a2")
        at_limit = [100_000, 200_000, 405_000 - overhead - names - 300_000]
        table.call(
            "PutItem", {"TableName": table.name, "Item": _item("k1", at_limit)}, idempotent=True
        )
        stored = table.call(
            "GetItem",
            {"TableName": table.name, "Key": {"PK": {"S": "k1"}, "SK": {"S": "S"}}},
            idempotent=True,
        )["Item"]
        assert [len(stored[f"a{i}"]["S"]) for i in range(3)] == at_limit

        over = [*at_limit[:2], at_limit[2] + 1]
        with pytest.raises(ServiceError, match="Item size has exceeded"):
            table.call(
                "PutItem", {"TableName": table.name, "Item": _item("k1", over)}, idempotent=True
            )
        table.delete()

    # The same attribute trips both checks: moto's own, attribute by attribute, agrees.
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType

    reference = LimitedSizeDict()
    refused = []
    for key, value in _item("k1", over).items():
        try:
            reference[key] = DynamoType(value)
        except ItemSizeTooLarge:
            refused.append(key)
    assert refused == ["a2"]
    with pytest.raises(ItemSizeTooLarge):
        Item(DynamoType({"S": "k1"}), DynamoType({"S": "S"}), _item("k1", over))
