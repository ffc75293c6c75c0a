"""The AWS "online shop" design (DynamoDB design patterns, "an online shop"), as published.

Table ``OnlineShop`` with generic keys ``PK``/``SK``, two overloaded global indexes
(``GSI1-PK``/``GSI1-SK``, ``GSI2-PK``/``GSI2-SK``) and the entity type in ``EntityType``. The
key texts are the published ones: ``c#``, ``p#``, ``w#``, ``o#``, ``i#``, ``sh#``, ``shp#``
prefixes, ``#`` between prefix and id, bare ISO dates (``2020-06-21T19:18:00``) as ``GSI1-SK``
of order items, ``i#<date>`` and ``p#<date>`` under a customer in ``GSI2``. Payments are a
map (``Detail.Payments``) on the invoice, as the design says.

Every access pattern of the published final table is one request (a get or one query), its
key condition checked against the published one, and its result checked against a pure-Python
evaluation of the same pattern over the seeded rows. The design's suggested revision (step
16: undated-prefix ``GSI2-SK`` to read all of a customer's activity in a date range) is the
last test: one query, several types, a sort-key range on the item collection.

Stored as published: the key fields (``customer_id``, ``order_id``, ``product_id``, and the
order item's ``date``) live only inside ``PK``/``SK``/``GSI*``, as in the published items:
the table is declared with ``store_key_fields=False``, and the invoice, whose published item
holds its ``Date`` beside ``GSI2-SK``, keeps that one with ``store_key_fields=["date"]``. The
published attributes themselves (``Email``, ``Name``, ``Quantity``, ``Price``, ``Detail``, ...)
and every key text are as published; every read restores the key fields from the keys. The
design's final table and its step tables are images on the published page
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/data-modeling-online-shop.html);
its text gives the 16 access patterns, all checked here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pynamodb.attributes import MapAttribute, UnicodeAttribute

from dynaorm import Entity, Index, Key, Table, sort_key
from dynaorm.testing import unique_table_name

shop_table = Table(
    "OnlineShop",
    pk="PK",
    sk="SK",
    type_attribute="EntityType",
    indexes=[Index("GSI1", pk="GSI1-PK", sk="GSI1-SK"), Index("GSI2", pk="GSI2-PK", sk="GSI2-SK")],
    store_key_fields=False,  # ids and the order item's date live only inside the keys
)


class Customer(Entity, table=shop_table, type_name="customer"):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute(attr_name="Email")
    name = UnicodeAttribute(attr_name="Name")
    primary = Key(pk="c#{customer_id}", sk="c#{customer_id}")


class Product(Entity, table=shop_table, type_name="product"):
    product_id = UnicodeAttribute()
    detail = MapAttribute(attr_name="Detail")
    price = UnicodeAttribute(attr_name="Price")
    primary = Key(pk="p#{product_id}", sk="p#{product_id}")


class Warehouse(Entity, table=shop_table, type_name="warehouse"):
    warehouse_id = UnicodeAttribute()
    address = MapAttribute(attr_name="Address")
    primary = Key(pk="w#{warehouse_id}", sk="w#{warehouse_id}")


class WarehouseItem(Entity, table=shop_table, type_name="warehouseItem"):
    product_id = UnicodeAttribute()
    warehouse_id = UnicodeAttribute()
    quantity = UnicodeAttribute(attr_name="Quantity")
    primary = Key(pk="p#{product_id}", sk="w#{warehouse_id}")
    by_warehouse = Key(index="GSI2", pk="w#{warehouse_id}", sk="p#{product_id}")


class Order(Entity, table=shop_table, type_name="order"):
    order_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute(attr_name="Date")
    primary = Key(pk="o#{order_id}", sk="c#{customer_id}")


class OrderItem(Entity, table=shop_table, type_name="orderItem"):
    order_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute()
    quantity = UnicodeAttribute(attr_name="Quantity")
    price = UnicodeAttribute(attr_name="Price")
    primary = Key(pk="o#{order_id}", sk="p#{product_id}")
    by_product = Key(index="GSI1", pk="p#{product_id}", sk="{date}")
    by_customer = Key(index="GSI2", pk="c#{customer_id}", sk="p#{date}")


# The published invoice holds its Date as an attribute too (beside GSI2-SK = "i#<date>").
class Invoice(Entity, table=shop_table, type_name="invoice", store_key_fields=["date"]):
    order_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute(attr_name="Date")
    amount = UnicodeAttribute(attr_name="Amount")
    detail = MapAttribute(attr_name="Detail")
    primary = Key(pk="o#{order_id}", sk="i#{invoice_id}")
    by_invoice = Key(index="GSI1", pk="i#{invoice_id}", sk="i#{invoice_id}")
    by_customer = Key(index="GSI2", pk="c#{customer_id}", sk="i#{date}")


class Shipment(Entity, table=shop_table, type_name="shipment"):
    order_id = UnicodeAttribute()
    shipment_id = UnicodeAttribute()
    warehouse_id = UnicodeAttribute()
    address = MapAttribute(attr_name="Address")
    type = UnicodeAttribute(attr_name="Type")
    date = UnicodeAttribute(attr_name="Date")
    primary = Key(pk="o#{order_id}", sk="sh#{shipment_id}")
    by_shipment = Key(index="GSI1", pk="sh#{shipment_id}", sk="sh#{shipment_id}")
    by_warehouse = Key(index="GSI2", pk="w#{warehouse_id}", sk="sh#{shipment_id}")


class ShipmentItem(Entity, table=shop_table, type_name="shipmentItem"):
    order_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    shipment_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    quantity = UnicodeAttribute(attr_name="Quantity")
    primary = Key(pk="o#{order_id}", sk="shp#{item_id}")
    by_shipment = Key(index="GSI1", pk="sh#{shipment_id}", sk="p#{product_id}")


# -- seeded data: the published rows, then generated ones -------------------------------------

ADDRESS = {"Country": "Sweden", "County": "Vastra Gotaland", "City": "Goteborg"}


def _published() -> list[Entity]:
    payments = {
        "Payments": [
            {"Type": "GiftCard", "Amount": 100, "Data": "GiftCard data here..."},
            {"Type": "MasterCard", "Amount": 300, "Data": "Payment data here..."},
        ]
    }
    return [
        Customer(customer_id="12345", email="samaneh@example.com", name="Samaneh"),
        Customer(customer_id="23456", email="kathleen@example.com", name="Kathleen"),
        Customer(customer_id="54321", email="henrik@example.com", name="Henrik"),
        Product(
            product_id="12345",
            detail={"Name": "Options Open", "Description": "The latest album"},
            price="100",
        ),
        Product(
            product_id="99887",
            detail={"Name": "The Book", "Description": "The best book ever"},
            price="40",
        ),
        Warehouse(warehouse_id="12345", address={**ADDRESS, "Street": "MainStreet"}),
        Warehouse(warehouse_id="12376", address={**ADDRESS, "City": "Boras"}),
        WarehouseItem(product_id="12345", warehouse_id="12345", quantity="50"),
        WarehouseItem(product_id="99887", warehouse_id="12345", quantity="4"),
        WarehouseItem(product_id="99887", warehouse_id="12376", quantity="4"),
        Order(order_id="12345", customer_id="12345", date="2020-06-21T19:10:00"),
        OrderItem(
            order_id="12345",
            product_id="12345",
            customer_id="12345",
            date="2020-06-21T19:18:00",
            quantity="2",
            price="100",
        ),
        OrderItem(
            order_id="12345",
            product_id="99887",
            customer_id="12345",
            date="2020-06-21T19:20:00",
            quantity="5",
            price="40",
        ),
        Invoice(
            order_id="12345",
            invoice_id="55443",
            customer_id="12345",
            date="2020-06-21T19:18:00",
            amount="400",
            detail=payments,
        ),
        Shipment(
            order_id="12345",
            shipment_id="88899",
            warehouse_id="12376",
            address=ADDRESS,
            type="Express",
            date="2020-06-22T08:20:00",
        ),
        Shipment(
            order_id="12345",
            shipment_id="98765",
            warehouse_id="12345",
            address=ADDRESS,
            type="Express",
            date="2020-06-22T10:20:00",
        ),
        ShipmentItem(
            order_id="12345", item_id="55555", shipment_id="98765", product_id="12345", quantity="2"
        ),
        ShipmentItem(
            order_id="12345", item_id="12345", shipment_id="98765", product_id="99887", quantity="3"
        ),
        ShipmentItem(
            order_id="12345", item_id="54321", shipment_id="88899", product_id="99887", quantity="2"
        ),
    ]


def _generated(seed: int) -> list[Entity]:
    rng = random.Random(seed)
    customers = [f"{n:05d}" for n in range(60000, 60006)]
    products = [f"{n:05d}" for n in range(70000, 70008)] + ["12345", "99887"]
    warehouses = ["12345", "12376", "80001", "80002"]
    out: list[Entity] = [
        Customer(customer_id=c, email=f"{c}@example.com", name=f"n{c}") for c in customers
    ]
    out += [Product(product_id=p, detail={"Name": p}, price="10") for p in products[:-2]]
    out += [Warehouse(warehouse_id=w, address=ADDRESS) for w in warehouses[2:]]
    for p in products[:-2]:
        for w in rng.sample(warehouses, 2):
            out.append(WarehouseItem(product_id=p, warehouse_id=w, quantity=str(rng.randrange(90))))
    for n in range(30):
        order_id, customer = f"{90000 + n}", rng.choice([*customers[:3], "12345"])
        day = (
            f"2020-06-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00"
        )
        out.append(Order(order_id=order_id, customer_id=customer, date=day))
        for p in rng.sample(products, rng.randrange(1, 4)):
            out.append(
                OrderItem(
                    order_id=order_id,
                    product_id=p,
                    customer_id=customer,
                    date=day,
                    quantity="1",
                    price="10",
                )
            )
        out.append(
            Invoice(
                order_id=order_id,
                invoice_id=f"{50000 + n}",
                customer_id=customer,
                date=day,
                amount="10",
                detail={"Payments": [{"Type": "GiftCard", "Amount": 10}]},
            )
        )
        shipment = f"{40000 + n}"
        out.append(
            Shipment(
                order_id=order_id,
                shipment_id=shipment,
                warehouse_id=rng.choice(warehouses),
                address=ADDRESS,
                type="Standard",
                date=day,
            )
        )
        out.append(
            ShipmentItem(
                order_id=order_id,
                item_id=f"{30000 + n}",
                shipment_id=shipment,
                product_id=products[0],
                quantity="1",
            )
        )
    return out


SEEDED = _published() + _generated(2020)


@pytest.fixture(scope="module")
def shop(dynamodb_endpoint: str) -> Iterator[Table]:
    table = shop_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            with table.batch_write() as batch:
                for entity in SEEDED:
                    batch.put(entity)
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


# -- the independent evaluation ----------------------------------------------------------------


def rows(kind: type[Entity], **equal: Any) -> list[Any]:
    """The seeded entities of ``kind`` whose attributes equal ``equal``."""
    return [
        e for e in SEEDED if type(e) is kind and all(getattr(e, k) == v for k, v in equal.items())
    ]


def stored(entities: list[Any]) -> list[tuple[str, str]]:
    """Entities as their stored (PK, SK) texts, in order."""
    return [(e.to_item()["PK"]["S"], e.to_item()["SK"]["S"]) for e in entities]


def condition(request: dict[str, Any]) -> tuple[str, list[str]]:
    """The key condition with names filled in and values as ``?``, and the values in order."""
    values = request["ExpressionAttributeValues"]
    text = re.sub(
        r"#n\d+",
        lambda m: request["ExpressionAttributeNames"][m.group()],
        request["KeyConditionExpression"],
    )
    shown = [values[m]["S"] for m in re.findall(r":v\d+", text)]
    return re.sub(r":v\d+", "?", text), shown


# -- the items are stored as published ----------------------------------------------------------


def test_the_items_carry_the_published_keys() -> None:
    published: dict[str, dict[str, Any]] = {}
    for entity in _published():
        published.setdefault(type(entity).__type_name__, entity.to_item())
    assert published["customer"]["PK"] == published["customer"]["SK"] == {"S": "c#12345"}
    assert published["orderItem"]["GSI1-PK"] == {"S": "p#12345"}
    assert published["orderItem"]["GSI1-SK"] == {"S": "2020-06-21T19:18:00"}
    assert published["orderItem"]["GSI2-SK"] == {"S": "p#2020-06-21T19:18:00"}
    assert published["invoice"]["GSI2-SK"] == {"S": "i#2020-06-21T19:18:00"}
    assert published["shipment"]["GSI2-PK"] == {"S": "w#12376"}
    assert published["shipment"]["GSI1-SK"] == {"S": "sh#88899"}
    assert published["shipmentItem"]["SK"] == {"S": "shp#55555"}
    assert published["shipmentItem"]["GSI1-SK"] == {"S": "p#12345"}
    assert published["warehouseItem"]["EntityType"] == {"S": "warehouseItem"}
    assert shop_table.key_attributes == ("PK", "SK", "GSI1-PK", "GSI1-SK", "GSI2-PK", "GSI2-SK")
    # Beside the keys and EntityType, each item holds the published attributes only (Email,
    # Name, Date, Detail, ...): no key field copied out of the keys.
    for entity in _published():
        item = entity.to_item()
        named = {a.attr_name for a in entity.get_attributes().values() if a.attr_name[0].isupper()}
        assert set(item) - {*shop_table.key_attributes, "EntityType"} <= named
        assert type(entity).from_item(item) == entity
    assert published["invoice"]["Date"] == {"S": "2020-06-21T19:18:00"}
    assert "date" not in published["orderItem"]


# -- the access patterns, each one request ------------------------------------------------------


def test_get_customer_product_and_warehouse(shop: Table) -> None:
    assert Customer.get(customer_id="12345") == rows(Customer, customer_id="12345")[0]
    assert Product.get(product_id="99887").detail["Name"] == "The Book"
    assert Warehouse.get(warehouse_id="12376").address["City"] == "Boras"
    assert Customer.key(customer_id="12345").key == {"PK": "c#12345", "SK": "c#12345"}


def test_product_inventory_for_all_warehouses(shop: Table) -> None:
    query = WarehouseItem.query(product_id="99887")
    assert condition(query.compile()) == ("PK = ? AND begins_with(SK, ?)", ["p#99887", "w#"])
    assert stored(query.all()) == sorted(stored(rows(WarehouseItem, product_id="99887")))


def test_everything_of_an_order_in_one_query(shop: Table) -> None:
    result = shop.partition(Order.primary, order_id="12345")
    expected = sorted(stored([e for e in SEEDED if e.to_item()["PK"]["S"] == "o#12345"]))
    assert stored(list(result)) == expected
    assert {type(e).__type_name__ for e in result} == {
        "order",
        "orderItem",
        "invoice",
        "shipment",
        "shipmentItem",
    }


@pytest.mark.parametrize(
    ("entity", "prefix"), [(OrderItem, "p#"), (Invoice, "i#"), (Shipment, "sh#")]
)
def test_products_invoice_and_shipments_of_an_order(
    shop: Table, entity: type[Entity], prefix: str
) -> None:
    query = entity.query(order_id="12345")
    assert condition(query.compile()) == ("PK = ? AND begins_with(SK, ?)", ["o#12345", prefix])
    assert stored(query.all()) == sorted(stored(rows(entity, order_id="12345")))


def test_orders_of_a_product_in_a_date_range(shop: Table) -> None:
    low, high = "2020-06-21T00:00:00", "2020-06-21T23:59:00"
    query = OrderItem.by_product.query(product_id="99887").range(OrderItem.date.between(low, high))
    assert condition(query.compile()) == (
        "GSI1-PK = ? AND GSI1-SK BETWEEN ? AND ?",
        ["p#99887", low, high],
    )
    expected = sorted(
        (e for e in rows(OrderItem, product_id="99887") if low <= e.date <= high),
        key=lambda e: (e.date, e.order_id),
    )
    assert sorted(stored(query.all())) == sorted(stored(expected))
    # A wider range: generated orders of the product across June.
    june = OrderItem.by_product.query(product_id="12345").range(
        OrderItem.date.between("2020-06-01", "2020-06-30")
    )
    expected_june = [e for e in rows(OrderItem, product_id="12345") if e.date >= "2020-06-01"]
    assert sorted(stored(june.all())) == sorted(stored(expected_june))
    assert [e.date for e in june] == sorted(e.date for e in expected_june)


def test_invoice_and_its_payments_by_invoice_id(shop: Table) -> None:
    query = Invoice.by_invoice.query(invoice_id="55443").range(Invoice.invoice_id == "55443")
    assert condition(query.compile()) == ("GSI1-PK = ? AND GSI1-SK = ?", ["i#55443", "i#55443"])
    (invoice,) = query.all()
    assert invoice == rows(Invoice, invoice_id="55443")[0]
    payments = [dict(p) for p in invoice.detail["Payments"]]
    assert [p["Type"] for p in payments] == ["GiftCard", "MasterCard"]
    assert sum(p["Amount"] for p in payments) == int(invoice.amount)


def test_shipment_details_by_shipment_id(shop: Table) -> None:
    query = shop.partition_query(Shipment.by_shipment, shipment_id="98765")
    assert condition(query.compile()) == ("GSI1-PK = ?", ["sh#98765"])
    result = query.fetch()
    assert result.first(Shipment) == rows(Shipment, shipment_id="98765")[0]
    assert sorted(stored(result[ShipmentItem])) == sorted(
        stored(rows(ShipmentItem, shipment_id="98765"))
    )
    assert len(result) == 1 + len(rows(ShipmentItem, shipment_id="98765"))


@pytest.mark.parametrize("warehouse", ["12345", "12376", "80001"])
def test_shipments_and_inventory_of_a_warehouse(shop: Table, warehouse: str) -> None:
    shipments = Shipment.by_warehouse.query(warehouse_id=warehouse)
    assert condition(shipments.compile()) == (
        "GSI2-PK = ? AND begins_with(GSI2-SK, ?)",
        [f"w#{warehouse}", "sh#"],
    )
    assert sorted(stored(shipments.all())) == sorted(stored(rows(Shipment, warehouse_id=warehouse)))
    inventory = WarehouseItem.by_warehouse.query(warehouse_id=warehouse)
    assert condition(inventory.compile())[1] == [f"w#{warehouse}", "p#"]
    found = inventory.all()
    assert sorted(stored(found)) == sorted(stored(rows(WarehouseItem, warehouse_id=warehouse)))
    assert [e.product_id for e in found] == sorted(e.product_id for e in found)


@pytest.mark.parametrize("customer", ["12345", "60000", "60001"])
def test_invoices_and_products_of_a_customer_in_a_date_range(shop: Table, customer: str) -> None:
    low, high = "2020-06-01", "2020-06-15"
    invoices = Invoice.by_customer.query(customer_id=customer).range(
        Invoice.date.between(low, high)
    )
    assert condition(invoices.compile()) == (
        "GSI2-PK = ? AND GSI2-SK BETWEEN ? AND ?",
        [f"c#{customer}", f"i#{low}", f"i#{high}"],
    )
    expected = [e for e in rows(Invoice, customer_id=customer) if low <= e.date <= high]
    assert sorted(stored(invoices.all())) == sorted(stored(expected))
    products = OrderItem.by_customer.query(customer_id=customer).range(
        OrderItem.date.between(low, high)
    )
    assert condition(products.compile())[1] == [f"c#{customer}", f"p#{low}", f"p#{high}"]
    bought = [e for e in rows(OrderItem, customer_id=customer) if low <= e.date <= high]
    assert sorted(stored(products.all())) == sorted(stored(bought))


def test_one_collection_range_reads_a_customers_invoices_and_products(shop: Table) -> None:
    """Both GSI2 groups of a customer, invoices (i#) and products (p#), in one query whose
    sort-key range spans the two prefixes."""
    result = shop.partition(
        Invoice.by_customer,
        customer_id="12345",
        range=sort_key.between("i#2020-06-21", "p#2020-06-22"),
    )
    expected = [
        e
        for e in rows(Invoice, customer_id="12345") + rows(OrderItem, customer_id="12345")
        if "i#2020-06-21" <= e.to_item()["GSI2-SK"]["S"] <= "p#2020-06-22"
    ]
    assert sorted(stored(list(result))) == sorted(stored(expected))
    assert {type(e) for e in result} == {Invoice, OrderItem}


# -- step 16: the revision for "all customer activity in a date range" --------------------------

revised_table = Table(
    "OnlineShopRevised",
    type_attribute="EntityType",
    indexes=[Index("GSI2", pk="GSI2-PK", sk="GSI2-SK")],
)


class RevisedInvoice(Entity, table=revised_table, type_name="invoice"):
    order_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute(attr_name="Date")
    primary = Key(pk="o#{order_id}", sk="i#{invoice_id}")
    by_customer = Key(index="GSI2", pk="c#{customer_id}", sk="{date}")


class RevisedOrderItem(Entity, table=revised_table, type_name="orderItem"):
    order_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute()
    primary = Key(pk="o#{order_id}", sk="p#{product_id}")
    by_customer = Key(index="GSI2", pk="c#{customer_id}", sk="{date}")


def test_the_revised_design_reads_all_activity_in_a_date_range(dynamodb_endpoint: str) -> None:
    revised = [
        RevisedInvoice(
            order_id=e.order_id, invoice_id=e.invoice_id, customer_id=e.customer_id, date=e.date
        )
        for e in rows(Invoice)
    ] + [
        RevisedOrderItem(
            order_id=e.order_id, product_id=e.product_id, customer_id=e.customer_id, date=e.date
        )
        for e in rows(OrderItem)
    ]
    table = revised_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            with table.batch_write() as batch:
                for entity in revised:
                    batch.put(entity)
            for customer in ("12345", "60000"):
                query = table.partition_query(
                    RevisedInvoice.by_customer,
                    customer_id=customer,
                    range=sort_key.between("2020-06-01", "2020-06-22"),
                )
                assert condition(query.compile()) == (
                    "GSI2-PK = ? AND GSI2-SK BETWEEN ? AND ?",
                    [f"c#{customer}", "2020-06-01", "2020-06-22"],
                )
                expected = [
                    e
                    for e in revised
                    if e.customer_id == customer and "2020-06-01" <= e.date <= "2020-06-22"  # type: ignore[attr-defined]
                ]
                found = query.all()
                assert sorted(stored(found)) == sorted(stored(expected))
                assert [e.date for e in found] == sorted(e.date for e in found)  # type: ignore[union-attr]
                invoices_only = table.partition(
                    RevisedInvoice.by_customer,
                    customer_id=customer,
                    types=[RevisedInvoice],  # the design's EntityType filter
                    range=sort_key.between("2020-06-01", "2020-06-22"),
                )
                assert {type(e) for e in invoices_only} <= {RevisedInvoice}
                assert len(invoices_only) == sum(isinstance(e, RevisedInvoice) for e in expected)
        finally:
            table.delete(missing_ok=True, wait=False)
