"""Table lifecycle against the server: create, describe, ensure, delete."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pynamodb.attributes import UnicodeAttribute

from dynaorm import (
    ConfigurationError,
    Entity,
    Index,
    Key,
    ServiceError,
    Settings,
    Table,
    TableNotFound,
)
from dynaorm.testing import unique_table_name

Factory = Callable[[Table], Table]

indexed = Table(
    "test-table-indexed",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", projection="KEYS_ONLY"),
        Index("GSI3", pk="GSI3PK", sk="GSI3SK", projection="INCLUDE", include=["email", "total"]),
        Index("LSI1", sk="LSI1SK", local=True),
        Index("LSI2", sk="LSI2SK", local=True, projection="KEYS_ONLY"),
    ],
)
provisioned = Table(
    "test-table-provisioned",
    billing_mode="PROVISIONED",
    read_capacity=3,
    write_capacity=4,
    indexes=[Index("GSI1", pk="GSI1PK", read_capacity=5, write_capacity=6)],
)
expiring = Table("test-table-ttl", ttl_attribute="expires_at")
plain = Table("test-table-plain", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


def schema(described: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]]


def by_name(indexes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["IndexName"]: i for i in indexes}


def test_create_builds_global_and_local_indexes(table_factory: Factory) -> None:
    table = table_factory(indexed)
    described = table.describe()
    assert described["TableName"] == table.name
    assert described["TableStatus"] == "ACTIVE"
    assert schema(described) == [("PK", "HASH"), ("SK", "RANGE")]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    definitions = {
        d["AttributeName"]: d["AttributeType"] for d in described["AttributeDefinitions"]
    }
    assert definitions == dict.fromkeys(
        ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI3PK", "GSI3SK", "LSI1SK", "LSI2SK"), "S"
    )

    gsis = by_name(described["GlobalSecondaryIndexes"])
    assert set(gsis) == {"GSI1", "GSI2", "GSI3"}
    assert schema(gsis["GSI1"]) == [("GSI1PK", "HASH"), ("GSI1SK", "RANGE")]
    assert gsis["GSI1"]["Projection"] == {"ProjectionType": "ALL"}
    assert schema(gsis["GSI2"]) == [("GSI2PK", "HASH")]
    assert gsis["GSI2"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert schema(gsis["GSI3"]) == [("GSI3PK", "HASH"), ("GSI3SK", "RANGE")]
    assert gsis["GSI3"]["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(gsis["GSI3"]["Projection"]["NonKeyAttributes"]) == ["email", "total"]
    assert all(g["IndexStatus"] == "ACTIVE" for g in gsis.values())

    lsis = by_name(described["LocalSecondaryIndexes"])
    assert set(lsis) == {"LSI1", "LSI2"}
    assert schema(lsis["LSI1"]) == [("PK", "HASH"), ("LSI1SK", "RANGE")]
    assert lsis["LSI1"]["Projection"] == {"ProjectionType": "ALL"}
    assert schema(lsis["LSI2"]) == [("PK", "HASH"), ("LSI2SK", "RANGE")]
    assert lsis["LSI2"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_create_with_provisioned_billing(table_factory: Factory) -> None:
    table = table_factory(provisioned)
    described = table.describe()
    throughput = described["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (3, 4)
    assert described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == (
        "PROVISIONED"
    )
    (gsi,) = described["GlobalSecondaryIndexes"]
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 6


@pytest.mark.requires("ttl")
def test_create_enables_ttl(table_factory: Factory) -> None:
    table = table_factory(expiring)
    response = table.call("DescribeTimeToLive", {"TableName": table.name}, idempotent=True)
    assert response["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }


@pytest.mark.requires("ttl")
def test_table_without_ttl_leaves_it_disabled(table_factory: Factory) -> None:
    table = table_factory(plain)
    response = table.call("DescribeTimeToLive", {"TableName": table.name}, idempotent=True)
    assert response["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


def test_create_an_existing_table_fails(table_factory: Factory) -> None:
    table = table_factory(plain)
    with pytest.raises(ServiceError, match="ResourceInUseException") as caught:
        table.create()
    assert caught.value.code == "ResourceInUseException"
    assert caught.value.operation == "CreateTable"


def test_ensure_is_idempotent(table_factory: Factory) -> None:
    table = table_factory(plain)
    before = table.describe()
    assert table.ensure() is False
    assert table.ensure() is False
    after = table.describe()
    assert after["KeySchema"] == before["KeySchema"]
    assert by_name(after["GlobalSecondaryIndexes"]).keys() == {"GSI1"}


def test_ensure_creates_a_missing_table(table_factory: Factory) -> None:
    table = table_factory(indexed)
    table.delete()
    assert not table.exists()
    assert table.ensure() is True
    assert table.exists()
    assert by_name(table.describe()["GlobalSecondaryIndexes"]).keys() == {"GSI1", "GSI2", "GSI3"}
    assert table.ensure() is False


def test_ensure_adds_a_missing_global_index(table_factory: Factory) -> None:
    table = table_factory(plain)
    grown = Table(
        table.name,
        indexes=[
            *plain.indexes,
            Index("GSI2", pk="GSI2PK", sk="GSI2SK", projection="INCLUDE", include=["status"]),
        ],
    )
    try:
        assert grown.ensure() is False
    except ServiceError as exc:
        if "provisionedThroughput" not in str(exc):
            raise
        pytest.skip(f"the server needs provisioned throughput for a new index: {exc}")
    gsis = by_name(grown.describe()["GlobalSecondaryIndexes"])
    assert set(gsis) == {"GSI1", "GSI2"}
    assert schema(gsis["GSI2"]) == [("GSI2PK", "HASH"), ("GSI2SK", "RANGE")]
    assert gsis["GSI2"]["Projection"]["ProjectionType"] == "INCLUDE"
    assert gsis["GSI2"]["IndexStatus"] == "ACTIVE"
    assert grown.ensure() is False


def test_ensure_refuses_a_different_key_schema(table_factory: Factory) -> None:
    table = table_factory(plain)
    other = Table(table.name, pk="HK", sk="RK")
    with pytest.raises(
        ConfigurationError,
        match=rf"table '{table.name}' has key schema .* the definition says pk='HK', sk='RK'",
    ):
        other.ensure()
    without_sk = Table(table.name, sk=None)
    with pytest.raises(ConfigurationError, match="the definition says pk='PK', sk=None"):
        without_sk.ensure()


def test_ensure_refuses_a_different_index_key_schema(table_factory: Factory) -> None:
    table = table_factory(plain)
    other = Table(table.name, indexes=[Index("GSI1", pk="OTHERPK", sk="GSI1SK")])
    with pytest.raises(
        ConfigurationError,
        match=r"index 'GSI1' has key schema .*the definition says \('OTHERPK', 'GSI1SK'\)",
    ):
        other.ensure()


def test_ensure_cannot_add_a_local_index(table_factory: Factory) -> None:
    table = table_factory(plain)
    other = Table(table.name, indexes=[*plain.indexes, Index("LSI1", sk="LSI1SK", local=True)])
    with pytest.raises(
        ConfigurationError,
        match="local index 'LSI1' is missing; local indexes can only be created with the table",
    ):
        other.ensure()


def test_delete(table_factory: Factory) -> None:
    table = table_factory(plain)
    assert table.exists()
    table.delete()
    assert not table.exists()
    with pytest.raises(TableNotFound, match="DeleteTable: ResourceNotFoundException") as caught:
        table.delete()
    assert caught.value.code == "ResourceNotFoundException"
    table.delete(missing_ok=True)
    table.delete(missing_ok=True, wait=False)


def test_describe_a_missing_table(table_factory: Factory) -> None:
    table = table_factory(plain)
    table.delete()
    with pytest.raises(TableNotFound, match="DescribeTable") as caught:
        table.describe()
    assert isinstance(caught.value, LookupError)
    assert caught.value.operation == "DescribeTable"


def test_override_restores_the_name_and_settings(dynamodb_endpoint: str) -> None:
    table = Table("test-table-override")
    original_settings = table.settings
    with table.override(name="elsewhere", region="eu-west-1") as same:
        assert same is table
        assert table.name == "elsewhere"
        assert table.settings.region == "eu-west-1"
        assert table.transport.settings.region == "eu-west-1"
    assert table.name == "test-table-override"
    assert table.settings == original_settings


def test_table_factory_gives_unique_names(table_factory: Factory) -> None:
    table = table_factory(plain)
    assert table.name.startswith("test-table-plain-")
    assert table.name != "test-table-plain"


# -- table.override is scoped to the calling context ------------------------------------------

notes = Table("test-table-override-notes")


class Note(Entity, table=notes):
    note_id = UnicodeAttribute()
    author = UnicodeAttribute()
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


def stored_ids(table: Table, name: str) -> set[str]:
    """Every note id in the physical table ``name``, by raw consistent scans."""
    ids: set[str] = set()
    request: dict[str, Any] = {"TableName": name, "ConsistentRead": True}
    while True:
        response = table.call("Scan", request, idempotent=True)
        ids |= {item["PK"]["S"].removeprefix("NOTE#") for item in response.get("Items", [])}
        if "LastEvaluatedKey" not in response:
            return ids
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def test_an_override_in_one_thread_does_not_move_another_threads_saves(
    table_factory: Factory,
) -> None:
    table = table_factory(notes)
    original = table.name
    copy = unique_table_name("test-table-override-copy")
    inside = threading.Event()
    web_done = threading.Event()
    failures: list[BaseException] = []

    def background_copy() -> None:  # a copy job: everything it writes goes to the copy
        try:
            with table.override(name=copy):
                table.create()
                inside.set()
                with table.batch_write(workers=2) as batch:
                    for i in range(50):
                        batch.put(Note(note_id=f"copy-{i}", author="copy-job"))
                web_done.wait(timeout=30)
                Note(note_id="copy-last", author="copy-job").save()
        except BaseException as exc:
            failures.append(exc)
            inside.set()

    worker = threading.Thread(target=background_copy)
    worker.start()
    try:
        assert inside.wait(timeout=30)
        for i in range(20):  # the web thread, while the copy runs
            assert table.name == original
            Note(note_id=f"web-{i}", author="web").save()
        web_done.set()
        worker.join(timeout=60)
        assert not worker.is_alive()
        assert failures == []
        web = {f"web-{i}" for i in range(20)}
        copied = {f"copy-{i}" for i in range(50)} | {"copy-last"}
        assert stored_ids(table, original) == web
        assert stored_ids(table, copy) == copied
    finally:
        web_done.set()
        table.call("DeleteTable", {"TableName": copy}, idempotent=False)


def test_threads_dynaorm_starts_inside_an_override_see_it(table_factory: Factory) -> None:
    table = table_factory(notes)
    original = table.name
    copy = unique_table_name("test-table-override-copy")
    ids = [f"n{i}" for i in range(120)]
    try:
        with table.override(name=copy):
            table.create()
            with table.batch_write(workers=4) as batch:  # batch workers
                for note_id in ids:
                    batch.put(Note(note_id=note_id, author="copy"))
            keys = [Note.key(note_id=note_id) for note_id in ids]
            found = table.batch_get(keys, workers=4, consistent=True)  # batch readers
            assert [n.note_id for n in found if isinstance(n, Note)] == ids
            assert Note.scan().consistent().segments(4).count() == len(ids)  # scan segments
            segmented = {n.note_id for n in Note.scan().consistent().segments(3)}
            assert segmented == set(ids)
        assert table.name == original
        assert stored_ids(table, original) == set()
        assert stored_ids(table, copy) == set(ids)
    finally:
        table.call("DeleteTable", {"TableName": copy}, idempotent=False)


def test_a_thread_started_by_the_caller_does_not_inherit_an_override() -> None:
    table = Table("test-table-override-plain-thread")
    seen: list[str] = []
    with table.override(name="elsewhere"):
        thread = threading.Thread(target=lambda: seen.append(table.name))
        thread.start()
        thread.join()
        assert table.name == "elsewhere"
    # Python starts a thread in an empty context (unless it is told to inherit the caller's).
    inherits = bool(getattr(sys.flags, "thread_inherit_context", 0))
    assert seen == ["elsewhere" if inherits else "test-table-override-plain-thread"]


def test_overrides_nest_and_configure_stays_process_wide() -> None:
    table = Table("test-table-override-nested", settings=Settings(read_timeout=3.0))
    with table.override(name="outer", region="eu-west-1"):
        with table.override(connect_timeout=2.0):
            assert table.name == "outer"  # the outer name holds
            assert (table.settings.region, table.settings.connect_timeout) == ("eu-west-1", 2.0)
            with table.override(name="inner"):
                assert table.name == "inner"
            assert table.name == "outer"
        assert table.settings.connect_timeout is None
        table.configure(read_timeout=4.0)  # for every thread and for good
        assert table.settings.read_timeout == 4.0
        assert table.settings.region == "eu-west-1"
    assert table.name == "test-table-override-nested"
    assert table.settings == Settings(read_timeout=4.0)


def test_an_override_of_an_unknown_setting_is_refused() -> None:
    table = Table("test-table-override-unknown")
    with pytest.raises(TypeError), table.override(endpoint="http://127.0.0.1:1"):
        pass
    assert table.settings == Settings()


def test_assigning_the_name_renames_the_table_for_every_thread() -> None:
    table = Table("test-table-rename")
    table.name = "renamed"
    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.append(table.name))
    thread.start()
    thread.join()
    assert seen == ["renamed"]
    with pytest.raises(ConfigurationError):
        table.name = ""
