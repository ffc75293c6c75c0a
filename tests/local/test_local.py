"""The embedded local server."""

from __future__ import annotations

import sys

import pytest

from dynaorm import ConfigurationError, ServiceError, Settings, Table
from dynaorm.local import LocalDynamoDB
from dynaorm.testing import unique_table_name


def test_endpoint_url_before_start() -> None:
    server = LocalDynamoDB()
    assert not server.running
    with pytest.raises(ConfigurationError, match=r"LocalDynamoDB is not running; call start\(\)"):
        _ = server.endpoint_url
    server.stop()  # stopping a server that never started is a no-op


def test_start_and_stop() -> None:
    server = LocalDynamoDB()
    endpoint = server.start()
    try:
        assert server.running
        assert endpoint == server.endpoint_url
        assert endpoint.startswith("http://127.0.0.1:")
        assert server.port != 0
        assert server.start() == endpoint  # starting again keeps the running server
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(ConfigurationError, match="not running"):
        _ = server.endpoint_url
    server.stop()


def test_context_manager_serves_dynamodb() -> None:
    with LocalDynamoDB() as server:
        assert server.running
        table = Table(
            unique_table_name("test-local"), settings=Settings(endpoint_url=server.endpoint_url)
        )
        table.create()
        assert table.describe()["TableStatus"] == "ACTIVE"
        table.delete()
        assert not table.exists()
    assert not server.running


def test_context_manager_stops_on_error() -> None:
    server = LocalDynamoDB()
    seen_running = []

    def fail() -> None:
        with server:
            seen_running.append(server.running)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert seen_running == [True]
    assert not server.running


def test_missing_local_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto.moto_server.werkzeug_app", None)
    server = LocalDynamoDB()
    with pytest.raises(
        ConfigurationError, match=r"needs moto's server: pip install 'dynaorm\[local\]'"
    ) as caught:
        server.start()
    assert isinstance(caught.value.__cause__, ImportError)
    assert not server.running


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
