"""Adopting a table another tool wrote: classification rules, tables without a stored type
attribute, key fields held only in the keys, and undeclared attributes kept on save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    ConfigurationError,
    Entity,
    Index,
    Key,
    Table,
    UnknownItem,
    by_attribute,
    by_prefix,
    first_match,
)

Factory = Callable[[Table], Table]

legacy = Table(
    "test-adopt",
    indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")],
    classify=first_match(
        by_prefix("SK", {"ORDER#": "Order"}), by_attribute("kind", {"c": "Customer"})
    ),
    store_type=False,
    preserve_items=True,
)


class Customer(Entity, table=legacy):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")


class Order(Entity, table=legacy):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    total = NumberAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="ORDER#{order_id}")


# As another tool stored them: key fields only inside the keys, its own attributes, no _type.
CUSTOMER = {
    "PK": {"S": "CUSTOMER#c1"},
    "SK": {"S": "PROFILE"},
    "kind": {"S": "c"},
    "name": {"S": "Ada"},
    "etag": {"N": "3"},
}
ORDERS = [
    {
        "PK": {"S": "CUSTOMER#c1"},
        "SK": {"S": f"ORDER#o{n}"},
        "GSI1PK": {"S": "STATUS#NEW"},
        "GSI1SK": {"S": f"ORDER#o{n}"},
        "status": {"S": "NEW"},
        "total": {"N": str(n)},
        "etag": {"N": "1"},
    }
    for n in (1, 2)
]


def _put(table: Table, *items: dict[str, Any]) -> None:
    for item in items:
        table.call("PutItem", {"TableName": table.name, "Item": item}, idempotent=True)


def _raw(table: Table, item: dict[str, Any]) -> dict[str, Any]:
    key = {"PK": item["PK"], "SK": item["SK"]}
    got: dict[str, Any] = table.call(
        "GetItem", {"TableName": table.name, "Key": key, "ConsistentRead": True}, idempotent=True
    )["Item"]
    return got


def test_rules() -> None:
    rule = by_prefix("SK", {"ORDER#": "order", "ORDER#ITEM#": "item"})
    assert rule({"SK": {"S": "ORDER#ITEM#1"}}) == "item"  # the longest prefix wins
    assert rule({"SK": {"S": "ORDER#1"}}) == "order"
    assert rule({"SK": {"N": "1"}}) is None
    assert by_attribute("k", {"a": "x"})({"k": {"S": "b"}}) is None
    with pytest.raises(ConfigurationError, match="empty"):
        by_prefix("SK", {})
    with pytest.raises(ConfigurationError, match="entity class or its type name"):
        by_attribute("k", {"a": 1})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="at least one"):
        first_match()
    with pytest.raises(ConfigurationError, match="needs a classify"):
        Table("t", store_type=False)


def test_every_read_path_classifies_restores_and_filters_client_side(
    table_factory: Factory, sent_requests: Callable[[Table], list[str]]
) -> None:
    table = table_factory(legacy)
    _put(table, CUSTOMER, *ORDERS)
    orders = Order.query(customer_id="c1")
    assert "FilterExpression" not in orders.compile()  # no type attribute to filter on
    page = orders.page()
    assert [o.order_id for o in page.items] == ["o1", "o2"]  # restored from the SK
    assert not page.unknown  # the customer is simply not an Order
    assert Order.query(customer_id="c1").count() == 2
    assert [o.order_id for o in Order.by_status.query(status="NEW")] == ["o1", "o2"]
    mixed = table.partition(Customer.primary, customer_id="c1")
    assert [type(x).__name__ for x in mixed.items] == ["Order", "Order", "Customer"]
    assert [
        type(x).__name__
        for x in table.partition(Customer.primary, customer_id="c1", types=[Order]).items
    ] == ["Order", "Order"]
    assert Customer.get(customer_id="c1").name == "Ada"  # type: ignore[union-attr]
    got = table.batch_get(
        [Order.key(customer_id="c1", order_id="o2"), Customer.key(customer_id="c1")]
    )
    assert [type(x).__name__ for x in got] == ["Order", "Customer"]
    assert sorted(type(x).__name__ for x in table.scan()) == ["Customer", "Order", "Order"]


def test_saved_back_unchanged_but_for_the_change(table_factory: Factory) -> None:
    table = table_factory(legacy)
    _put(table, CUSTOMER, *ORDERS)
    order = Order.get(customer_id="c1", order_id="o1")
    assert order is not None
    assert order.customer_id == "c1"
    assert not order.is_partial
    order.total = 10
    order.save()
    assert _raw(table, ORDERS[0]) == {**ORDERS[0], "total": {"N": "10"}}  # no _type, no customer_id
    customer = Customer.get(customer_id="c1")
    assert customer is not None
    customer.name = "Ada L."
    customer.save()
    assert _raw(table, CUSTOMER) == {**CUSTOMER, "name": {"S": "Ada L."}}
    order.status = "PAID"  # an index key field: the index key moves, nothing else changes
    order.save()
    assert _raw(table, ORDERS[0]) == {
        **ORDERS[0],
        "total": {"N": "10"},
        "status": {"S": "PAID"},
        "GSI1PK": {"S": "STATUS#PAID"},
    }


def test_a_key_that_does_not_parse_is_never_taken(table_factory: Factory) -> None:
    table = table_factory(legacy)
    odd = {**ORDERS[0], "SK": {"S": "ORDER#"}}  # an empty field: not a key the template builds
    _put(table, odd)
    page = Order.query(customer_id="c1").page()
    assert page.items == ()
    assert isinstance(page.unknown[0], UnknownItem)
