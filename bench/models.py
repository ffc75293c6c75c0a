"""The entity measured by the benchmarks, as a dynaorm Entity and as a plain PynamoDB Model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from dynaorm import Entity, Index, Key, Table

ENDPOINT = "http://127.0.0.1:9"  # never contacted: responses are canned

bench_table = Table(
    "bench",
    indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK"), Index("GSI2", pk="GSI2PK", sk="GSI2SK")],
)


class Order(Entity, table=bench_table):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    total = NumberAttribute()
    placed_at = UTCDateTimeAttribute()
    gift = BooleanAttribute()
    tags = UnicodeSetAttribute()
    address = MapAttribute()  # type: ignore[var-annotated]
    lines = ListAttribute()  # type: ignore[var-annotated]
    note = UnicodeAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}")
    by_order = Key(index="GSI2", pk="ORDER#{order_id}", sk="ORDER")


class PynamoOrder(Model):
    class Meta:
        table_name = "bench"
        host = ENDPOINT
        region = "us-east-1"
        aws_access_key_id = "bench"
        aws_secret_access_key = "bench"

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    GSI2PK = UnicodeAttribute()
    GSI2SK = UnicodeAttribute()
    _type = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    total = NumberAttribute()
    placed_at = UTCDateTimeAttribute()
    gift = BooleanAttribute()
    tags = UnicodeSetAttribute()
    address = MapAttribute()  # type: ignore[var-annotated]
    lines = ListAttribute()  # type: ignore[var-annotated]
    note = UnicodeAttribute(null=True)


PLACED = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


def order_values(n: int = 1) -> dict[str, Any]:
    return {
        "customer_id": f"c{n % 97}",
        "order_id": f"o{n:06d}",
        "status": "PAID",
        "total": 129.5,
        "placed_at": PLACED,
        "gift": False,
        "tags": {"express", "fragile"},
        "address": {"street": "1 Main St", "city": "Lisbon", "zip": "1000-001"},
        "lines": [{"sku": "s1", "qty": 2}, {"sku": "s2", "qty": 1}],
        "note": "leave at the door",
    }


def make_order(n: int = 1) -> Order:
    return Order(**order_values(n))


def make_pynamo_order(n: int = 1, model: type[PynamoOrder] = PynamoOrder) -> PynamoOrder:
    values = order_values(n)
    placed = Order.__keys__["by_status"].sk
    assert placed is not None
    return model(
        PK=f"CUSTOMER#{values['customer_id']}",
        SK=f"ORDER#{values['order_id']}",
        GSI1PK=f"STATUS#{values['status']}",
        GSI1SK=placed.build(values),
        GSI2PK=f"ORDER#{values['order_id']}",
        GSI2SK="ORDER",
        _type="Order",
        **values,
    )


def pynamo_model(endpoint: str) -> type[PynamoOrder]:
    """``PynamoOrder`` talking to ``endpoint`` (PynamoDB keeps the host on the class)."""

    class Meta:
        table_name = "bench"
        host = endpoint
        region = "us-east-1"
        aws_access_key_id = "bench"
        aws_secret_access_key = "bench"
        max_pool_connections = 8

    return type("ServerPynamoOrder", (PynamoOrder,), {"Meta": Meta, "_connection": None})
