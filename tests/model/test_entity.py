"""Entities against the server: attribute round trips, type dispatch, keys, versions, conditions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from map_models import Address, Circle, Extras, Shape, Square
from pynamodb.attributes import (
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NullAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from dynaorm import (
    ConditionFailed,
    Entity,
    Index,
    ItemKey,
    Key,
    Table,
    UnknownEntityType,
    ValidationError,
    VersionAttribute,
    VersionConflict,
)

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]

# -- every attribute type -------------------------------------------------------------------


# No ttl_attribute: a TTLAttribute needs no TTL setting on the table to round-trip.
types_table = Table("test-entity-types")


class Everything(Entity, table=types_table):
    thing_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    number = NumberAttribute(null=True)
    ratio = NumberAttribute(null=True)
    blob = BinaryAttribute(null=True, legacy_encoding=False)
    flag = BooleanAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)
    doc = JSONAttribute(null=True)
    numbers = ListAttribute(of=NumberAttribute, null=True)
    anything = ListAttribute(null=True)  # type: ignore[var-annotated]
    raw_map = MapAttribute(null=True)  # type: ignore[var-annotated]
    address = Address(null=True)
    addresses = ListAttribute(of=Address, null=True)
    shapes = ListAttribute(of=Shape, null=True)
    extras = Extras(null=True)
    tags = UnicodeSetAttribute(null=True)
    scores = NumberSetAttribute(null=True)
    blobs = BinarySetAttribute(null=True, legacy_encoding=False)
    nothing = NullAttribute(null=True)
    expires = TTLAttribute(null=True)
    renamed = UnicodeAttribute(attr_name="r", null=True)
    version = VersionAttribute()
    primary = Key(pk="THING#{thing_id}", sk="THING")


def raw_item(table: Table, key: ItemKey) -> dict[str, Any]:
    """The item exactly as stored (strongly consistent)."""
    request = {"TableName": table.name, "Key": key.to_request(), "ConsistentRead": True}
    item: dict[str, Any] = table.call("GetItem", request, idempotent=True).get("Item", {})
    return item


def put_raw(table: Table, item: dict[str, Any]) -> None:
    table.call("PutItem", {"TableName": table.name, "Item": item}, idempotent=True)


def full_thing() -> Everything:
    return Everything(
        thing_id="t-1",
        text="héllo wörld ✓ 🎉",
        number=42,
        ratio=-3.25,
        blob=b"\x00\xffbinary\x80",
        flag=False,
        at=datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        doc={"nested": [1, "two", None, {"three": 3.5}], "ok": True},
        numbers=[1, 2.5, -3],
        anything=["x", 1, True, None, {"k": "v"}, [1, "y"]],
        raw_map={"a": 1, "b": {"c": "d"}, "e": [1, 2]},
        address=Address(street="Main St", zip_code="12345", since=datetime(2020, 1, 1, tzinfo=UTC)),
        addresses=[Address(street="One"), Address(street="Two", zip_code="2")],
        shapes=[Circle(radius=2), Square(side=3)],
        tags={"red", "green", "blue"},
        scores={1, 2.5, -7},
        blobs={b"\x00", b"\x01\x02", b"abc"},
        expires=datetime.now(UTC).replace(microsecond=0) + timedelta(days=1),
        renamed="stored as r",
    )


def test_every_attribute_type_round_trips(table_factory: Factory) -> None:
    table = table_factory(types_table)
    thing = full_thing()
    thing.save()
    assert thing.version == 1

    got = Everything.get(thing_id="t-1", consistent=True)
    assert got is not None
    assert got == thing
    assert type(got) is Everything
    assert got.text == "héllo wörld ✓ 🎉"
    assert got.number == 42
    assert got.ratio == -3.25
    assert got.blob == b"\x00\xffbinary\x80"
    assert got.flag is False
    assert got.at == datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)
    assert got.doc == {"nested": [1, "two", None, {"three": 3.5}], "ok": True}
    assert got.numbers == [1, 2.5, -3]
    assert got.anything == ["x", 1, True, None, {"k": "v"}, [1, "y"]]
    assert got.raw_map is not None
    assert got.raw_map.as_dict() == {"a": 1, "b": {"c": "d"}, "e": [1, 2]}
    assert isinstance(got.address, Address)
    assert got.address.street == "Main St"
    assert got.address.zip_code == "12345"
    assert got.address.since == datetime(2020, 1, 1, tzinfo=UTC)
    assert got.addresses is not None
    assert [(a.street, a.zip_code) for a in got.addresses] == [("One", None), ("Two", "2")]
    assert got.shapes is not None
    circle, square = got.shapes
    assert isinstance(circle, Circle)
    assert circle.radius == 2
    assert isinstance(square, Square)
    assert square.side == 3
    assert got.tags == {"red", "green", "blue"}
    assert got.scores == {1, 2.5, -7}
    assert got.blobs == {b"\x00", b"\x01\x02", b"abc"}
    assert got.nothing is None
    assert got.expires == thing.expires
    assert got.renamed == "stored as r"
    assert got.version == 1

    stored = raw_item(table, thing.item_key)
    assert stored["blob"] == {"B": b"\x00\xffbinary\x80"}
    assert sorted(stored["blobs"]["BS"]) == [b"\x00", b"\x01\x02", b"abc"]
    assert sorted(stored["tags"]["SS"]) == ["blue", "green", "red"]
    assert sorted(stored["scores"]["NS"], key=float) == ["-7", "1", "2.5"]
    assert stored["flag"] == {"BOOL": False}
    assert stored["at"] == {"S": "2024-05-01T10:30:15.123456+0000"}
    assert stored["expires"] == {"N": str(int(thing.expires.timestamp()))}  # type: ignore[union-attr]
    assert stored["address"]["M"]["zip"] == {"S": "12345"}
    assert stored["shapes"]["L"][0]["M"]["kind"] == {"S": "circle"}
    assert stored["r"] == {"S": "stored as r"}
    assert "renamed" not in stored
    assert stored["version"] == {"N": "1"}


def test_unset_optional_attributes_are_not_stored(table_factory: Factory) -> None:
    table = table_factory(types_table)
    thing = Everything(thing_id="bare")
    thing.save()
    stored = raw_item(table, thing.item_key)
    assert set(stored) == {"PK", "SK", "_type", "thing_id", "version"}
    got = Everything.get(thing_id="bare")
    assert got == thing
    assert got is not None
    assert got.text is None
    assert got.tags is None


def test_null_attribute_is_stored_as_null_and_reads_back_as_none(table_factory: Factory) -> None:
    table = table_factory(types_table)
    thing = Everything(thing_id="null", nothing=True)
    thing.save()
    assert raw_item(table, thing.item_key)["nothing"] == {"NULL": True}
    got = Everything.get(thing_id="null")
    assert got is not None
    assert got.nothing is None


def test_dynamic_map_round_trips(table_factory: Factory) -> None:
    table = table_factory(types_table)
    thing = Everything(thing_id="dyn", extras=Extras(known="k", other=5, more={"x": "y"}))
    thing.save()
    assert raw_item(table, thing.item_key)["extras"] == {
        "M": {"known": {"S": "k"}, "other": {"N": "5"}, "more": {"M": {"x": {"S": "y"}}}}
    }
    got = Everything.get(thing_id="dyn")
    assert got is not None
    assert got.extras is not None
    assert got.extras.known == "k"
    assert got.extras.other == 5
    assert got.extras.more == {"x": "y"}


@pytest.mark.xfail(
    reason="PynamoDB bug pynamodb/PynamoDB#999: a deserialized DynamicMapAttribute serializes "
    "an extra empty 'attribute_values' key",
)
def test_dynamic_map_reads_back_equal(table_factory: Factory) -> None:
    table_factory(types_table)
    thing = Everything(thing_id="dyn", extras=Extras(known="k", other=5))
    thing.save()
    assert Everything.get(thing_id="dyn") == thing


def test_equality_ignores_set_order() -> None:
    forward: set[int] = set()
    backward: set[int] = set()
    for n in (1, 9, 17):  # equal hashes modulo 8: iteration order follows insertion order
        forward.add(n)
    for n in (17, 9, 1):
        backward.add(n)
    assert Everything(thing_id="s", scores=forward) == Everything(thing_id="s", scores=backward)
    assert Everything(thing_id="s", scores={1}) != Everything(thing_id="s", scores={2})


# -- several entity types in one table ------------------------------------------------------

shop = Table("test-entity-shop", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute(attr_name="mail")
    name = UnicodeAttribute(null=True)
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    total = NumberAttribute(default=0)
    status = UnicodeAttribute(null=True)
    placed_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}")


class Product(Entity, table=shop):
    sku = UnicodeAttribute()
    stock = NumberAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")


def query(table: Table, pk: str, *, index: str | None = None, pk_name: str = "PK") -> list[Any]:
    request: dict[str, Any] = {
        "TableName": table.name,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": pk_name},
        "ExpressionAttributeValues": {":pk": {"S": pk}},
    }
    if index is not None:
        request["IndexName"] = index
    else:
        request["ConsistentRead"] = True
    items: list[Any] = table.call("Query", request, idempotent=True)["Items"]
    return items


def test_partition_read_returns_each_entity_as_its_own_class(table_factory: Factory) -> None:
    table = table_factory(shop)
    Customer(customer_id="c1", email="ada@example.com").save()
    Order(customer_id="c1", order_id="o1", total=10).save()
    Order(customer_id="c1", order_id="o2", total=20).save()
    Customer(customer_id="c2", email="bob@example.com").save()
    Order(customer_id="c2", order_id="o3", total=30).save()
    Product(sku="s1", stock=5).save()

    entities = [table.from_item(item) for item in query(table, "CUSTOMER#c1")]
    assert [type(e) for e in entities] == [Order, Order, Customer]  # "ORDER#" < "PROFILE"
    order_1, order_2, customer = entities
    assert isinstance(customer, Customer)
    assert customer.email == "ada@example.com"
    assert isinstance(order_1, Order)
    assert isinstance(order_2, Order)
    assert [order_1.order_id, order_2.order_id] == ["o1", "o2"]
    assert [order_1.total, order_2.total] == [10, 20]

    (product,) = [table.from_item(item) for item in query(table, "PRODUCT#s1")]
    assert product == Product(sku="s1", stock=5)


def test_index_read_returns_entities(table_factory: Factory) -> None:
    table = table_factory(shop)
    Customer(customer_id="c1", email="ada@example.com").save()
    items = query(table, "EMAIL#ada@example.com", index="GSI1", pk_name="GSI1PK")
    (customer,) = [table.from_item(item) for item in items]
    assert isinstance(customer, Customer)
    assert customer.customer_id == "c1"


def test_unknown_entity_type_is_reported(table_factory: Factory) -> None:
    table = table_factory(shop)
    ghost = {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "GHOST#1"}, "_type": {"S": "Ghost"}}
    put_raw(table, ghost)
    Customer(customer_id="c1", email="ada@example.com").save()

    items = query(table, "CUSTOMER#c1")
    assert len(items) == 2
    with pytest.raises(
        UnknownEntityType,
        match=rf"table '{table.name}': item .*'GHOST#1'.* has type 'Ghost'; known types: "
        "Customer, Order, Product",
    ) as caught:
        [table.from_item(item) for item in items]
    assert caught.value.type_name == "Ghost"
    assert caught.value.item == ghost
    assert isinstance(caught.value, LookupError)


def test_item_without_type_attribute_is_reported(table_factory: Factory) -> None:
    table = table_factory(shop)
    untyped = {"PK": {"S": "CUSTOMER#c9"}, "SK": {"S": "PROFILE"}, "customer_id": {"S": "c9"}}
    put_raw(table, untyped)
    (item,) = query(table, "CUSTOMER#c9")
    with pytest.raises(UnknownEntityType, match="has no '_type' attribute") as caught:
        table.from_item(item)
    assert caught.value.type_name is None
    with pytest.raises(UnknownEntityType, match="is a None, not a 'Customer'"):
        Customer.get(customer_id="c9")


def test_reading_an_item_of_another_type_through_an_entity(table_factory: Factory) -> None:
    table = table_factory(shop)
    order = Order(customer_id="c1", order_id="o1")
    order.save()
    (item,) = query(table, "CUSTOMER#c1")
    with pytest.raises(UnknownEntityType, match="is a 'Order', not a 'Customer'") as caught:
        Customer.from_item(item)
    assert caught.value.type_name == "Order"
    put_raw(table, {**item, "SK": {"S": "PROFILE"}})
    with pytest.raises(UnknownEntityType, match="is a 'Order', not a 'Customer'"):
        Customer.get(customer_id="c1")


# -- keys and CRUD --------------------------------------------------------------------------


def test_get_returns_none_for_a_missing_item(table_factory: Factory) -> None:
    table_factory(shop)
    assert Customer.get(customer_id="nobody") is None
    assert Order.get(customer_id="c1", order_id="o1", consistent=True) is None


def test_save_get_delete(table_factory: Factory) -> None:
    table_factory(shop)
    product = Product(sku="s1", stock=3)
    product.save()
    assert Product.get(sku="s1") == product
    product.stock = 4
    product.save()  # unversioned: a plain overwrite
    assert Product.get(sku="s1") == Product(sku="s1", stock=4)
    product.delete()
    assert Product.get(sku="s1") is None
    product.delete()  # deleting a missing item is not an error


def test_key_builds_the_primary_key() -> None:
    key = Order.key(customer_id="c1", order_id="o1")
    assert key == ItemKey(Order, {"SK": "ORDER#o1", "PK": "CUSTOMER#c1"})
    assert key.key == {"PK": "CUSTOMER#c1", "SK": "ORDER#o1"}
    assert key.to_request() == {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "ORDER#o1"}}
    assert hash(key) == hash(Order(customer_id="c1", order_id="o1").item_key)
    assert key != ItemKey(Customer, key.key)
    assert Customer.key(customer_id="c1").key == {"PK": "CUSTOMER#c1", "SK": "PROFILE"}


def test_key_rejects_unexpected_and_missing_names() -> None:
    with pytest.raises(
        ValidationError,
        match=r"Order\.key\(\) got unexpected email, status; the primary key takes "
        "customer_id, order_id",
    ):
        Order.key(customer_id="c1", order_id="o1", status="x", email="y")
    with pytest.raises(
        ValidationError,
        match=r"Order\.primary\.sk key template 'ORDER#\{order_id\}' needs a value for 'order_id'",
    ):
        Order.key(customer_id="c1")


def test_unknown_constructor_argument() -> None:
    with pytest.raises(ValidationError, match=r"Order: .*colour.* \(attributes: customer_id, "):
        Order(customer_id="c1", colour="red")


def test_bad_values_are_rejected_before_any_request(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(shop)
    sent = sent_requests(table)

    forged = Customer(customer_id="1#ORDER#9", email="a@x.io")
    with pytest.raises(
        ValidationError,
        match=r"Customer\.primary\.pk key template 'CUSTOMER#\{customer_id\}': "
        r"customer_id='1#ORDER#9' contains the key delimiter '#'",
    ):
        forged.save()
    assert forged.version is None
    with pytest.raises(ValidationError, match=r"Customer\.by_email\.pk .*email='a#b'"):
        Customer(customer_id="c1", email="a#b").save()
    with pytest.raises(ValidationError, match="customer_id must not be empty"):
        Customer.get(customer_id="")
    with pytest.raises(ValidationError, match="order_id='o#1' contains the key delimiter"):
        Order.get(customer_id="c1", order_id="o#1")
    with pytest.raises(ValidationError, match="needs a value for 'order_id'"):
        Order(customer_id="c1").delete()
    with pytest.raises(ValidationError, match="order_id must not be empty"):
        Order(customer_id="c1", order_id="").save()
    with pytest.raises(ValidationError, match=r"Customer: .*email"):
        Customer(customer_id="c1").save()  # a required attribute is missing
    assert sent == []

    assert Customer.get(customer_id="fine") is None
    assert sent == ["GetItem"]


# -- versions and conditions ----------------------------------------------------------------

# Telling a version conflict from another failed condition needs the stored item back.
STORED_ITEM_ON_FAILURE = pytest.mark.requires("return_values_on_condition_failure")


def test_first_save_writes_version_one_and_later_saves_increment(table_factory: Factory) -> None:
    table = table_factory(shop)
    customer = Customer(customer_id="c1", email="ada@example.com")
    assert customer.version is None
    customer.save()
    assert customer.version == 1
    assert raw_item(table, customer.item_key)["version"] == {"N": "1"}
    customer.name = "Ada"
    customer.save()
    assert customer.version == 2
    stored = Customer.get(customer_id="c1", consistent=True)
    assert stored is not None
    assert (stored.version, stored.name) == (2, "Ada")


def test_creating_an_item_that_exists_is_a_version_conflict(table_factory: Factory) -> None:
    table_factory(shop)
    Customer(customer_id="c1", email="first@example.com").save()
    second = Customer(customer_id="c1", email="second@example.com")
    with pytest.raises(VersionConflict, match="expected version None") as caught:
        second.save()
    assert caught.value.expected is None
    assert isinstance(caught.value.item, Customer)
    assert caught.value.item.email == "first@example.com"
    assert second.version is None


def test_stale_save_raises_version_conflict(table_factory: Factory) -> None:
    table_factory(shop)
    Customer(customer_id="c1", email="ada@example.com").save()
    mine = Customer.get(customer_id="c1", consistent=True)
    theirs = Customer.get(customer_id="c1", consistent=True)
    assert mine is not None
    assert theirs is not None
    theirs.name = "theirs"
    theirs.save()

    mine.name = "mine"
    with pytest.raises(
        VersionConflict,
        match=r"Customer \{'PK': 'CUSTOMER#c1', 'SK': 'PROFILE'\}: expected version 1",
    ) as caught:
        mine.save()
    conflict = caught.value
    assert isinstance(conflict, ConditionFailed)
    assert conflict.expected == 1
    assert isinstance(conflict.item, Customer)
    assert (conflict.item.version, conflict.item.name) == (2, "theirs")
    assert conflict.code == "ConditionalCheckFailedException"
    assert conflict.operation == "PutItem"
    assert isinstance(conflict.__cause__, ClientError)
    assert mine.version == 1  # unchanged, so the caller can re-read and retry

    stored = Customer.get(customer_id="c1", consistent=True)
    assert stored is not None
    assert stored.name == "theirs"


def test_delete_with_a_stale_version_raises(table_factory: Factory) -> None:
    table_factory(shop)
    Order(customer_id="c1", order_id="o1", total=1).save()
    stale = Order.get(customer_id="c1", order_id="o1", consistent=True)
    fresh = Order.get(customer_id="c1", order_id="o1", consistent=True)
    assert stale is not None
    assert fresh is not None
    fresh.total = 2
    fresh.save()

    with pytest.raises(VersionConflict, match="expected version 1") as caught:
        stale.delete()
    assert caught.value.expected == 1
    assert caught.value.operation == "DeleteItem"
    assert isinstance(caught.value.item, Order)
    assert caught.value.item.total == 2
    assert Order.get(customer_id="c1", order_id="o1") is not None

    fresh.delete()
    assert Order.get(customer_id="c1", order_id="o1", consistent=True) is None
    with pytest.raises(VersionConflict, match="expected version 2") as gone:
        fresh.delete()  # a versioned delete of a vanished item is a conflict too
    assert gone.value.item is None


def test_failed_save_condition_raises_condition_failed_with_the_stored_item(
    table_factory: Factory,
) -> None:
    table_factory(shop)
    Product(sku="s1", stock=5).save()
    update = Product(sku="s1", stock=3)
    with pytest.raises(
        ConditionFailed, match=r"Product \{'PK': 'PRODUCT#s1', 'SK': 'PRODUCT'\}"
    ) as caught:
        update.save(condition=Product.stock >= 10)
    assert type(caught.value) is ConditionFailed
    assert caught.value.item == Product(sku="s1", stock=5)
    assert caught.value.operation == "PutItem"
    stored = Product.get(sku="s1")
    assert stored is not None
    assert stored.stock == 5

    update.save(condition=Product.stock >= 5)
    assert Product.get(sku="s1") == Product(sku="s1", stock=3)


def test_failed_condition_on_a_missing_item_has_no_item(table_factory: Factory) -> None:
    table_factory(shop)
    with pytest.raises(ConditionFailed) as caught:
        Product(sku="new", stock=1).save(condition=Product.sku.exists())
    assert caught.value.item is None


def test_failed_condition_with_the_right_version_is_not_a_version_conflict(
    table_factory: Factory,
) -> None:
    table_factory(shop)
    customer = Customer(customer_id="c1", email="ada@example.com")
    customer.save()
    with pytest.raises(ConditionFailed) as caught:
        customer.save(condition=Customer.email == "someone@else.com")
    assert type(caught.value) is ConditionFailed
    assert isinstance(caught.value.item, Customer)
    assert caught.value.item.version == 1
    assert customer.version == 1
    customer.save(condition=Customer.email == "ada@example.com")
    assert customer.version == 2


def test_failed_delete_condition(table_factory: Factory) -> None:
    table_factory(shop)
    product = Product(sku="s1", stock=5)
    product.save()
    with pytest.raises(ConditionFailed, match="PRODUCT#s1") as caught:
        product.delete(condition=Product.stock == 0)
    assert caught.value.item == product
    assert caught.value.operation == "DeleteItem"
    product.delete(condition=Product.stock == 5)
    assert Product.get(sku="s1") is None


def test_refresh(table_factory: Factory) -> None:
    table_factory(shop)
    mine = Customer(customer_id="c1", email="ada@example.com")
    mine.save()
    theirs = Customer.get(customer_id="c1", consistent=True)
    assert theirs is not None
    theirs.name = "Ada"
    theirs.save()
    mine.refresh()
    assert (mine.name, mine.version) == ("Ada", 2)
    theirs.delete()
    with pytest.raises(LookupError, match="no longer exists"):
        mine.refresh()


# -- what is stored -------------------------------------------------------------------------


def test_logical_attributes_are_stored_as_real_attributes(table_factory: Factory) -> None:
    table = table_factory(shop)
    placed = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    order = Order(customer_id="c1", order_id="o1", total=9.5, status="PAID", placed_at=placed)
    order.save()
    assert raw_item(table, order.item_key) == {
        "PK": {"S": "CUSTOMER#c1"},
        "SK": {"S": "ORDER#o1"},
        "GSI1PK": {"S": "STATUS#PAID"},
        "GSI1SK": {"S": "2024-05-01T09:00:00.000000+0000"},
        "_type": {"S": "Order"},
        "customer_id": {"S": "c1"},
        "order_id": {"S": "o1"},
        "total": {"N": "9.5"},
        "status": {"S": "PAID"},
        "placed_at": {"S": "2024-05-01T09:00:00.000000+0000"},
        "version": {"N": "1"},
    }
    customer = Customer(customer_id="c1", email="ada@example.com")
    customer.save()
    stored = raw_item(table, customer.item_key)
    assert stored["mail"] == {"S": "ada@example.com"}  # attr_name= is honoured
    assert "email" not in stored
    assert stored["GSI1PK"] == {"S": "EMAIL#ada@example.com"}


def test_sparse_index_keys_are_omitted(table_factory: Factory) -> None:
    table = table_factory(shop)
    placed = datetime(2024, 5, 1, tzinfo=UTC)
    draft = Order(customer_id="c1", order_id="draft")
    half = Order(customer_id="c1", order_id="half", status="PAID")
    paid = Order(customer_id="c1", order_id="paid", status="PAID", placed_at=placed)
    for order in (draft, half, paid):
        order.save()
    for order in (draft, half):
        stored = raw_item(table, order.item_key)
        assert "GSI1PK" not in stored
        assert "GSI1SK" not in stored
    assert raw_item(table, paid.item_key)["GSI1PK"] == {"S": "STATUS#PAID"}

    items = query(table, "STATUS#PAID", index="GSI1", pk_name="GSI1PK")
    assert [table.from_item(item) for item in items] == [paid]


def test_index_keys_follow_the_attributes(table_factory: Factory) -> None:
    table = table_factory(shop)
    order = Order(customer_id="c1", order_id="o1", status="PAID", placed_at=datetime(2024, 1, 1))
    order.save()
    order.status = "SHIPPED"
    order.save()
    assert raw_item(table, order.item_key)["GSI1PK"] == {"S": "STATUS#SHIPPED"}
    order.status = None
    order.save()
    assert "GSI1PK" not in raw_item(table, order.item_key)


# -- custom type names and type attribute ---------------------------------------------------

custom = Table("test-entity-custom", type_attribute="kind")


class Note(Entity, table=custom, type_name="note.v1"):
    note_id = UnicodeAttribute()
    body = UnicodeAttribute(attr_name="b")
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


class Memo(Entity, table=custom):
    memo_id = UnicodeAttribute()
    primary = Key(pk="MEMO#{memo_id}", sk="MEMO")


def test_custom_type_name_and_type_attribute(table_factory: Factory) -> None:
    table = table_factory(custom)
    note = Note(note_id="n1", body="hello")
    note.save()
    Memo(memo_id="m1").save()
    stored = raw_item(table, note.item_key)
    assert stored["kind"] == {"S": "note.v1"}
    assert "_type" not in stored
    assert stored["b"] == {"S": "hello"}
    assert table.from_item(stored) == note
    assert table.entity_for(stored) is Note
    assert set(table.entities) == {"note.v1", "Memo"}
    memo = raw_item(table, Memo.key(memo_id="m1"))
    assert memo["kind"] == {"S": "Memo"}
    assert isinstance(table.from_item(memo), Memo)
    with pytest.raises(UnknownEntityType, match="has no 'kind' attribute"):
        table.from_item({**memo, "kind": {"N": "1"}})
