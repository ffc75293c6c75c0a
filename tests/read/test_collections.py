"""Item collections: a partition's items of every type, typed and grouped; unknown types kept."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.expressions.operand import Path

from dynaorm import (
    Entity,
    Index,
    ItemCollection,
    Key,
    Table,
    UnknownEntityType,
    UnknownItem,
    ValidationError,
)
from dynaorm.testing import unique_table_name

collections_table = Table(
    "test-collections",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", sk="GSI2SK", projection="KEYS_ONLY"),
    ],
)


class Customer(Entity, table=collections_table):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute()
    region = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    by_region = Key(index="GSI1", pk="REGION#{region}", sk="CUSTOMER#{customer_id}")


class Order(Entity, table=collections_table):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    total = NumberAttribute()
    region = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_region = Key(index="GSI1", pk="REGION#{region}", sk="ORDER#{order_id}")
    by_total = Key(index="GSI2", pk="TOTAL#{region}", sk="T#{total:06d}")


class Address(Entity, table=collections_table):
    customer_id = UnicodeAttribute()
    n = NumberAttribute()
    city = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ADDRESS#{n:02d}")


class Lonely(Entity, table=collections_table):
    """Registered, but never written."""

    lonely_id = UnicodeAttribute()
    primary = Key(pk="LONELY#{lonely_id}", sk="LONELY")


def put(table: Table, item: dict[str, dict[str, str]]) -> None:
    table.call("PutItem", {"TableName": table.name, "Item": item}, idempotent=True)


def write_all(table: Table, entities: Sequence[Entity]) -> None:
    for entity in entities:
        put(table, entity.to_item())


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-collections-secret")


@pytest.fixture(scope="module")
def shop(dynamodb_endpoint: str) -> Iterator[Table]:
    table = collections_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            entities: list[Entity] = [
                Customer(customer_id="c1", email="a@x.io", region="eu"),
                Customer(customer_id="c2", email="b@x.io", region="eu"),
                *(
                    Order(customer_id="c1", order_id=f"o{i}", total=i * 10, region="eu")
                    for i in range(5)
                ),
                Order(customer_id="c2", order_id="o9", total=90, region="us"),
                Address(customer_id="c1", n=1, city="Lyon"),
                Address(customer_id="c1", n=2, city="Oslo"),
            ]
            write_all(table, entities)
            # Items no entity claims: another program's type, and an item without a type.
            put(
                table,
                {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "LEGACY#1"}, "_type": {"S": "Legacy"}},
            )
            put(table, {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "NOTYPE"}})
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


def test_a_partition_comes_back_typed_and_grouped(shop: Table) -> None:
    result = shop.partition(Customer.primary, customer_id="c1")
    assert isinstance(result, ItemCollection)
    assert result.partition == "CUSTOMER#c1"
    # Key order: ADDRESS#01, ADDRESS#02, LEGACY#1 (unknown), NOTYPE (unknown), ORDER#o0.., PROFILE.
    assert [type(i).__name__ for i in result.items] == ["Address"] * 2 + ["Order"] * 5 + [
        "Customer"
    ]
    assert [o.order_id for o in result[Order]] == [f"o{i}" for i in range(5)]
    assert [a.city for a in result[Address]] == ["Lyon", "Oslo"]
    customer = result.first(Customer)
    assert customer is not None
    assert customer.email == "a@x.io"
    assert result.first(Lonely) is None
    assert result[Lonely] == []
    assert len(result) == 8
    assert list(result) == list(result.items)


def test_unknown_types_are_kept_never_dropped(shop: Table) -> None:
    result = shop.partition(Customer.primary, customer_id="c1")
    assert [(u.type_name, u.item["SK"]["S"]) for u in result.unknown] == [
        ("Legacy", "LEGACY#1"),
        (None, "NOTYPE"),
    ]
    assert all(isinstance(u, UnknownItem) for u in result.unknown)
    with pytest.raises(UnknownEntityType, match="'Legacy'"):
        shop.partition(Customer.primary, strict=True, customer_id="c1")


def test_restricting_types_filters_on_the_server(shop: Table) -> None:
    result = shop.partition(Customer.primary, types=[Order, Customer], customer_id="c1")
    assert [type(i).__name__ for i in result.items] == ["Order"] * 5 + ["Customer"]
    # The 'Legacy' item is filtered out on the server; the untyped one could be of any type,
    # so it still comes back (never dropped unseen).
    assert [u.item["SK"]["S"] for u in result.unknown] == ["NOTYPE"]
    page = shop.partition_query(Customer.primary, types=[Address], customer_id="c1").page()
    assert page.scanned_count == 10
    assert len(page) == 3  # two addresses and the untyped item
    assert [u.item["SK"]["S"] for u in page.unknown] == ["NOTYPE"]


def test_a_partition_of_a_global_index(shop: Table) -> None:
    result = shop.partition(Order.by_region, region="eu")
    assert [type(i).__name__ for i in result.items] == ["Customer", "Customer"] + ["Order"] * 5
    assert {c.customer_id for c in result[Customer]} == {"c1", "c2"}
    with pytest.raises(ValidationError, match="does not hold the type attribute '_type'"):
        shop.partition(Order.by_total, region="eu")


def test_partition_query_pages_with_cursors_and_filters(shop: Table) -> None:
    query = shop.partition_query(Customer.primary, customer_id="c1").limit(3)
    seen: list[str] = []
    cursor = None
    while True:
        page = query.page(cursor)
        seen += [
            i.item["SK"]["S"] if isinstance(i, UnknownItem) else i.item_key.key["SK"] for i in page
        ]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [
        "ADDRESS#01",
        "ADDRESS#02",
        "LEGACY#1",
        "NOTYPE",
        *(f"ORDER#o{i}" for i in range(5)),
        "PROFILE",
    ]
    filtered = shop.partition_query(Customer.primary, customer_id="c1").where(Order.total >= 30)
    assert [o.order_id for o in filtered.fetch()[Order]] == ["o3", "o4"]
    reverse = shop.partition_query(Customer.primary, customer_id="c1").reverse().consistent()
    assert isinstance(reverse.first(), Customer)
    assert shop.partition_query(Customer.primary, customer_id="c1").count() == 10


def test_partition_refuses_foreign_keys_types_and_values(shop: Table) -> None:
    other = Table("test-collections-other")
    with pytest.raises(ValidationError, match="takes a key of an entity of table"):
        other.partition(Customer.primary, customer_id="c1")
    with pytest.raises(ValidationError, match="is not an entity of table"):
        shop.partition(Customer.primary, types=[int], customer_id="c1")  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="got unexpected order_id"):
        shop.partition(Customer.primary, customer_id="c1", order_id="o1")
    with pytest.raises(ValidationError, match="needs a value for 'customer_id'"):
        shop.partition(Customer.primary)
    query = shop.partition_query(Customer.primary, customer_id="c1").where(Order.order_id == "x")
    with pytest.raises(ValidationError, match="key attribute 'SK'"):
        query.where(Path(["SK"]) == "x")
