"""A small table for the command-line tests (loaded by reference, as users name theirs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pynamodb.attributes import (
    BinaryAttribute,
    BinarySetAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from dynaorm import Entity, Index, Key, Query, Table, VersionAttribute, WritePlan

shop = Table("test-cli-shop", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute()
    avatar = BinaryAttribute(null=True, legacy_encoding=False)
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    total = NumberAttribute()
    lines = ListAttribute[Any](null=True)
    meta = MapAttribute[str, Any](null=True)
    stamps = BinarySetAttribute(null=True, legacy_encoding=False)
    placed_at = UTCDateTimeAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")

    __access_patterns__: ClassVar[dict[str, Callable[[], Query[Order]]]] = {
        "orders of a customer": lambda: Order.query(customer_id="c1"),
        "big orders of a customer": lambda: big_orders(),
    }


def big_orders() -> Query[Order]:
    """A query defined in user code, for ``dynaorm explain``."""
    return Order.query(customer_id="c1").where(Order.total > 100).limit(10)


def orders_over(customer_id: str, minimum: int = 100) -> Query[Order]:
    """A query that needs arguments (``dynaorm explain ... --arg customer_id=c1``)."""
    return Order.query(customer_id=customer_id).where(Order.total > minimum)


def broken_query() -> Query[Order]:
    """A query function that fails when called."""
    raise RuntimeError("the database of prices is down")


not_a_table = 42


def mark_paid(order_id: str) -> WritePlan[Order]:
    """A write plan defined in user code (``dynaorm explain ... --arg order_id=o1``)."""
    key = Order.key(customer_id="c1", order_id=order_id)
    return Order.update_by_key_plan(key, Order.total.set(500), condition=Order.total < 500)
