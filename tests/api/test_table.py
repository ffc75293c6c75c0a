"""Table lifecycle against the server: create, describe, ensure, delete."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import UnicodeAttribute
from support import requests_sent

from dynaorm import (
    ConfigurationError,
    Entity,
    Index,
    Key,
    SchemaMismatch,
    ServiceError,
    Settings,
    Table,
    TableNotFound,
    ValidationError,
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
    # The type attribute is projected into every INCLUDE index (entity reads filter on it).
    assert sorted(gsis["GSI3"]["Projection"]["NonKeyAttributes"]) == ["_type", "email", "total"]
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
        match=r"the table has key schema \('PK', 'SK'\), the definition says \('HK', 'RK'\)",
    ):
        other.ensure()
    without_sk = Table(table.name, sk=None)
    with pytest.raises(ConfigurationError, match=r"the definition says \('PK', None\)"):
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


# -- ensure() against live indexes that differ from the definition ---------------------------

drifted = Table(
    "test-table-drifted",
    indexes=[
        Index("ALLGSI", pk="G1PK", sk="G1SK"),  # live: KEYS_ONLY
        Index("INCGSI", pk="G2PK", projection="INCLUDE", include=["email"]),  # live: no _type
        Index("TYPEDGSI", pk="G3PK"),  # live: G3PK is a number
        Index("KEYGSI", pk="G4PK", sk="G4SK"),  # live: no sort key
        Index("GOODGSI", pk="G5PK"),  # matches
        Index("NEWGSI", pk="G6PK"),  # missing: could be added, but nothing is changed
    ],
)


ALL = {"ProjectionType": "ALL"}


def _key(pk: str, sk: str | None = None) -> list[dict[str, str]]:
    return [
        {"AttributeName": pk, "KeyType": "HASH"},
        *([{"AttributeName": sk, "KeyType": "RANGE"}] if sk else []),
    ]


@pytest.fixture
def raw_created(dynamodb_endpoint: str) -> Iterator[Callable[..., Table]]:
    """Create ``table`` raw through the botocore client (so it can differ from the
    definition in ways a definition cannot express), deleted after the test."""
    with contextlib.ExitStack() as stack:

        def make(table: Table, **request: Any) -> Table:
            stack.enter_context(
                table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint)
            )
            table.transport.client.create_table(
                TableName=table.name, BillingMode="PAY_PER_REQUEST", **request
            )
            stack.callback(table.delete, missing_ok=True, wait=False)
            table.wait_until_active()
            return table

        yield make


def test_ensure_reports_every_index_difference_at_once(
    raw_created: Callable[..., Table],
) -> None:
    definitions = {"PK": "S", "SK": "N", "G1PK": "S", "G1SK": "S", "G2PK": "S"}
    definitions |= {"G3PK": "N", "G4PK": "S", "G5PK": "S"}
    table = raw_created(
        drifted,
        KeySchema=_key("PK", "SK"),
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": t} for n, t in definitions.items()
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ALLGSI",
                "KeySchema": _key("G1PK", "G1SK"),
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "INCGSI",
                "KeySchema": _key("G2PK"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["email"]},
            },
            {"IndexName": "TYPEDGSI", "KeySchema": _key("G3PK"), "Projection": ALL},
            {"IndexName": "KEYGSI", "KeySchema": _key("G4PK"), "Projection": ALL},
            {"IndexName": "GOODGSI", "KeySchema": _key("G5PK"), "Projection": ALL},
        ],
    )
    with requests_sent(table) as sent, pytest.raises(SchemaMismatch) as caught:
        table.ensure()
    assert sent == ["DescribeTable"]  # refused whole: the missing NEWGSI is not added either
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.table == table.name
    assert [(d.index, d.aspect, d.expected, d.found) for d in caught.value.differences] == [
        (None, "key types", {"PK": "S", "SK": "S"}, {"PK": "S", "SK": "N"}),
        ("ALLGSI", "projection type", "ALL", "KEYS_ONLY"),
        ("INCGSI", "projected attributes", ["_type", "email"], ["email"]),
        ("TYPEDGSI", "key types", {"G3PK": "S"}, {"G3PK": "N"}),
        ("KEYGSI", "key schema", ("G4PK", "G4SK"), ("G4PK", None)),
    ]
    message = str(caught.value)
    assert f"table {table.name!r} does not match its definition (5 differences)" in message
    assert "index 'ALLGSI' has projection type 'KEYS_ONLY', the definition says 'ALL'" in message
    assert (
        "index 'INCGSI' has projected attributes ['email'], the definition says "
        "['_type', 'email']" in message
    )
    assert "index 'TYPEDGSI' has key types {'G3PK': 'N'}" in message
    assert "index 'KEYGSI' has key schema ('G4PK', None)" in message
    assert "GOODGSI" not in message
    assert "NEWGSI" not in {g["IndexName"] for g in table.describe()["GlobalSecondaryIndexes"]}


def test_ensure_reports_a_keys_only_index_the_definition_wants_whole(
    table_factory: Factory,
) -> None:
    # Created KEYS_ONLY (by an older definition); the definition now says ALL. Entity queries
    # would filter on a type attribute the index does not hold and come back empty: ensure()
    # says so instead of accepting the index.
    old = table_factory(
        Table("test-table-proj", indexes=[Index("GSI1", pk="GSI1PK", projection="KEYS_ONLY")])
    )
    new = Table(old.name, indexes=[Index("GSI1", pk="GSI1PK")])
    with pytest.raises(SchemaMismatch) as caught:
        new.ensure()
    (difference,) = caught.value.differences
    assert (difference.index, difference.aspect) == ("GSI1", "projection type")
    assert (difference.expected, difference.found) == ("ALL", "KEYS_ONLY")


def test_include_indexes_project_the_type_attribute(table_factory: Factory) -> None:
    definition = Table(
        "test-table-include",
        indexes=[
            Index("GSI1", pk="GSI1PK", projection="INCLUDE", include=["email"]),
            Index("LSI1", sk="LSI1SK", local=True, projection="INCLUDE", include=["email"]),
        ],
    )
    assert [i.include for i in definition.indexes] == [("email", "_type")] * 2
    request = definition.create_request()
    gsi, lsi = request["GlobalSecondaryIndexes"][0], request["LocalSecondaryIndexes"][0]
    for spec in (gsi, lsi):
        assert spec["Projection"] == {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": ["email", "_type"],
        }
    table = table_factory(definition)
    described = table.describe()
    for index in (*described["GlobalSecondaryIndexes"], *described["LocalSecondaryIndexes"]):
        assert sorted(index["Projection"]["NonKeyAttributes"]) == ["_type", "email"]
    assert table.ensure() is False

    class Member(Entity, table=table):
        member_id = UnicodeAttribute()
        email = UnicodeAttribute()
        primary = Key(pk="MEMBER#{member_id}", sk="PROFILE")
        by_email = Key(index="GSI1", pk="EMAIL#{email}")

    Member(member_id="m1", email="m@x.io").save()
    (found,) = Member.by_email.query(email="m@x.io").all()  # filtered by type, not empty
    assert (found.member_id, found.email) == ("m1", "m@x.io")


keys_only = Table(
    "test-table-keys-only",
    indexes=[Index("GSI1", pk="GSI1PK", projection="KEYS_ONLY")],
)


class Tagged(Entity, table=keys_only):
    tag_id = UnicodeAttribute()
    label = UnicodeAttribute()
    primary = Key(pk="TAG#{tag_id}", sk="TAG")
    by_label = Key(index="GSI1", pk="LABEL#{label}")


def test_typed_reads_on_a_keys_only_index_are_refused_before_any_request(
    table_factory: Factory,
) -> None:
    table = table_factory(keys_only)
    Tagged(tag_id="t1", label="red").save()
    refused = r"index 'GSI1' has projection KEYS_ONLY and does not hold the type attribute '_type'"
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=r"^Tagged\.by_label\.query\(\): " + refused):
            Tagged.by_label.query(label="red")
        with pytest.raises(ValidationError, match=r"^Tagged\.scan\(\): " + refused):
            Tagged.scan(index="GSI1")
        with pytest.raises(ValidationError, match=refused):
            table.scan(types=[Tagged], index="GSI1")
        with pytest.raises(ValidationError, match=r"^partition\(\): " + refused):
            table.partition(Tagged.by_label, label="red")
    assert sent == []
    # Reads that do not need the type on the index still work.
    assert [t.tag_id for t in Tagged.query(tag_id="t1")] == ["t1"]
    assert [t.tag_id for t in table.scan(types=[Tagged])] == ["t1"]  # type: ignore[union-attr]


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
