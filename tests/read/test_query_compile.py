"""Compiling queries and scans: expectation tables of exact requests, and what is refused.

No server: ``compile()`` is pure (until a cursor needs verifying). The sort-key range
properties are in tests/keys/test_ranges.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.operand import Path

from dynaorm import Entity, Index, Key, Table, ValidationError, size

shop = Table(
    "shop",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", sk="GSI2SK", projection="KEYS_ONLY"),
        Index("GSI3", pk="GSI3PK", sk="GSI3SK", projection="INCLUDE", include=["status"]),
        Index("LSI1", sk="LSI1SK", local=True),
    ],
)


class Dims(MapAttribute[str, Any]):
    width = NumberAttribute()
    unit = UnicodeAttribute(attr_name="u")


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    count = NumberAttribute(null=True)
    total = NumberAttribute(null=True)
    seq = NumberAttribute(null=True)
    plain = NumberAttribute(null=True)
    day = UnicodeAttribute(null=True)
    placed_at = UTCDateTimeAttribute()
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    dims = Dims(null=True)
    lines = ListAttribute(null=True)  # type: ignore[var-annotated]
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{placed_at}#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}")
    by_day = Key(index="GSI2", pk="DAY#{day}", sk="ORDER#{order_id}")
    by_week = Key(index="GSI3", pk="WEEK#{day}", sk="ORDER#{order_id}")
    by_seq = Key(index="LSI1", sk="SEQ#{seq:08d}")


class Plain(Entity, table=shop):
    plain_id = UnicodeAttribute()
    n = NumberAttribute()
    primary = Key(pk="PLAIN#{plain_id}", sk="N#{n}")


flat = Table("flat", sk=None)


class Setting(Entity, table=flat):
    setting_id = UnicodeAttribute()
    primary = Key(pk="SETTING#{setting_id}")


T = datetime(2024, 5, 1, 12, tzinfo=UTC)
TS = "2024-05-01T12:00:00.000000+0000"
U = datetime(2024, 6, 1, tzinfo=UTC)
US = "2024-06-01T00:00:00.000000+0000"

C1 = {":v0": {"S": "CUSTOMER#c1"}}
PK_SK = {"#n0": "PK", "#n1": "SK", "#n2": "_type"}
ORDER = {"S": "Order"}
TAIL = {"ScanIndexForward": True, "ConsistentRead": False, "ReturnConsumedCapacity": "TOTAL"}


def query(**members: Any) -> dict[str, Any]:
    return {"TableName": "shop", **members, **{k: v for k, v in TAIL.items() if k not in members}}


def on_sk(operator_text: str, *values: str, **extra: Any) -> dict[str, Any]:
    """A primary-key Query of partition CUSTOMER#c1 with ``operator_text`` on SK."""
    names = dict(PK_SK)
    numbered = {f":v{i + 1}": {"S": v} for i, v in enumerate(values)}
    type_placeholder = f":v{len(values) + 1}"
    filter_text = f"(#n2 = {type_placeholder} OR attribute_not_exists (#n2))"
    expression_values = {**C1, **numbered, type_placeholder: ORDER}
    if "exclude" in extra:
        attribute, value = extra.pop("exclude")
        names["#n3"] = attribute
        expression_values[f":v{len(values) + 2}"] = value
        filter_text += f" AND #n3 <> :v{len(values) + 2}"
    return query(
        KeyConditionExpression=f"#n0 = :v0 AND {operator_text}",
        FilterExpression=filter_text,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=expression_values,
        **extra,
    )


def orders() -> Any:
    return Order.query(customer_id="c1")


CASES: list[tuple[str, Callable[[], Any], dict[str, Any]]] = [
    (
        "primary: the sort key is kept to the entity's prefix and the type is filtered",
        orders,
        on_sk("begins_with(#n1, :v1)", "ORDER#"),
    ),
    (
        "primary with a constant sort key: one item's key",
        lambda: Customer.query(customer_id="c1"),
        query(
            KeyConditionExpression="#n0 = :v0 AND #n1 = :v1",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2))",
            ExpressionAttributeNames=PK_SK,
            ExpressionAttributeValues={**C1, ":v1": {"S": "PROFILE"}, ":v2": {"S": "Customer"}},
        ),
    ),
    (
        "range >= on the leading field: up to the end of the prefix",
        lambda: orders().range(Order.placed_at >= T),
        on_sk("#n1 BETWEEN :v1 AND :v2", f"ORDER#{TS}#", "ORDER$"),
    ),
    (
        "range > excludes every key of the group: starts after value + delimiter",
        lambda: orders().range(Order.placed_at > T),
        on_sk("#n1 BETWEEN :v1 AND :v2", f"ORDER#{TS}$", "ORDER$"),
    ),
    (
        "range <= includes every longer key of the group: ends at value + next(delimiter)",
        lambda: orders().range(Order.placed_at <= T),
        on_sk("#n1 BETWEEN :v1 AND :v2", "ORDER#", f"ORDER#{TS}$"),
    ),
    (
        "range < ends at value + delimiter, which no key of the template equals",
        lambda: orders().range(Order.placed_at < T),
        on_sk("#n1 BETWEEN :v1 AND :v2", "ORDER#", f"ORDER#{TS}#"),
    ),
    (
        "between",
        lambda: orders().range(Order.placed_at.between(T, U)),
        on_sk("#n1 BETWEEN :v1 AND :v2", f"ORDER#{TS}#", f"ORDER#{US}$"),
    ),
    (
        "equality on the leading field narrows the prefix",
        lambda: orders().range(Order.placed_at == T),
        on_sk("begins_with(#n1, :v1)", f"ORDER#{TS}#"),
    ),
    (
        "equality, then begins_with on the next field",
        lambda: orders().range((Order.placed_at == T) & Order.order_id.startswith("o1")),
        on_sk("begins_with(#n1, :v1)", f"ORDER#{TS}#o1"),
    ),
    (
        "equality, then <= on the last field: inclusive end at the key itself",
        lambda: orders().range(Order.placed_at == T).range(Order.order_id <= "o5"),
        on_sk("#n1 BETWEEN :v1 AND :v2", f"ORDER#{TS}#", f"ORDER#{TS}#o5"),
    ),
    (
        "equality, then < on the last field: inclusive range, the boundary value filtered out",
        lambda: orders().range(Order.placed_at == T).range(Order.order_id < "o5"),
        on_sk(
            "#n1 BETWEEN :v1 AND :v2",
            f"ORDER#{TS}#",
            f"ORDER#{TS}#o5",
            exclude=("order_id", {"S": "o5"}),
        ),
    ),
    (
        "equality, then > on the last field",
        lambda: orders().range(Order.placed_at == T).range(Order.order_id > "o5"),
        on_sk(
            "#n1 BETWEEN :v1 AND :v2",
            f"ORDER#{TS}#o5",
            f"ORDER#{TS}$",
            exclude=("order_id", {"S": "o5"}),
        ),
    ),
    (
        "every field fixed: the exact key",
        lambda: orders().range((Order.placed_at == T) & (Order.order_id == "o5")),
        on_sk("#n1 = :v1", f"ORDER#{TS}#o5"),
    ),
    (
        "a table without a sort key: the partition is the item",
        lambda: Setting.query(setting_id="s1"),
        {
            "TableName": "flat",
            "KeyConditionExpression": "#n0 = :v0",
            "FilterExpression": "(#n1 = :v1 OR attribute_not_exists (#n1))",
            "ExpressionAttributeNames": {"#n0": "PK", "#n1": "_type"},
            "ExpressionAttributeValues": {":v0": {"S": "SETTING#s1"}, ":v1": {"S": "Setting"}},
            **TAIL,
        },
    ),
    (
        "GSI: no constant prefix, so the type filter alone separates types",
        lambda: Order.by_status.query(status="PAID"),
        query(
            IndexName="GSI1",
            KeyConditionExpression="#n0 = :v0",
            FilterExpression="(#n1 = :v1 OR attribute_not_exists (#n1))",
            ExpressionAttributeNames={"#n0": "GSI1PK", "#n1": "_type"},
            ExpressionAttributeValues={":v0": {"S": "STATUS#PAID"}, ":v1": ORDER},
        ),
    ),
    (
        "GSI range without a prefix uses DynamoDB's own operator, reversed",
        lambda: Order.by_status.query(status="PAID").range(Order.placed_at > T).reverse(),
        query(
            IndexName="GSI1",
            KeyConditionExpression="#n0 = :v0 AND #n1 > :v1",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2))",
            ExpressionAttributeNames={"#n0": "GSI1PK", "#n1": "GSI1SK", "#n2": "_type"},
            ExpressionAttributeValues={":v0": {"S": "STATUS#PAID"}, ":v1": {"S": TS}, ":v2": ORDER},
            ScanIndexForward=False,
        ),
    ),
    (
        "GSI range < without a prefix needs no boundary filter",
        lambda: Order.by_status.query(status="PAID").range(Order.placed_at < T),
        query(
            IndexName="GSI1",
            KeyConditionExpression="#n0 = :v0 AND #n1 < :v1",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2))",
            ExpressionAttributeNames={"#n0": "GSI1PK", "#n1": "GSI1SK", "#n2": "_type"},
            ExpressionAttributeValues={":v0": {"S": "STATUS#PAID"}, ":v1": {"S": TS}, ":v2": ORDER},
        ),
    ),
    (
        "INCLUDE GSI: the type attribute is projected automatically, so the type filter applies",
        lambda: Order.by_week.query(day="2024-05-01"),
        query(
            IndexName="GSI3",
            KeyConditionExpression="#n0 = :v0 AND begins_with(#n1, :v1)",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2))",
            ExpressionAttributeNames={"#n0": "GSI3PK", "#n1": "GSI3SK", "#n2": "_type"},
            ExpressionAttributeValues={
                ":v0": {"S": "WEEK#2024-05-01"},
                ":v1": {"S": "ORDER#"},
                ":v2": ORDER,
            },
        ),
    ),
    (
        "LSI: the table's partition, the index's sort key; zero-padded numbers range",
        lambda: Order.by_seq.query(customer_id="c1").range(Order.seq >= 5).consistent(),
        query(
            IndexName="LSI1",
            KeyConditionExpression="#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2",
            FilterExpression="(#n2 = :v3 OR attribute_not_exists (#n2))",
            ExpressionAttributeNames={"#n0": "PK", "#n1": "LSI1SK", "#n2": "_type"},
            ExpressionAttributeValues={
                **C1,
                ":v1": {"S": "SEQ#00000005"},
                ":v2": {"S": "SEQ$"},
                ":v3": ORDER,
            },
            ConsistentRead=True,
        ),
    ),
    (
        "filters: nested paths and reserved words are placeholdered",
        lambda: orders().where(
            Order.name == "x",
            Order.status.is_in("PAID", "NEW"),
            Order.meta["size"] > 2,
            (Order.dims.unit == "cm") | ~Order.count.exists(),
            size(Order.lines) >= 2,
            Order.lines[0] == "first",
        ),
        query(
            KeyConditionExpression="#n0 = :v0 AND begins_with(#n1, :v1)",
            FilterExpression=(
                "(#n2 = :v2 OR attribute_not_exists (#n2)) "
                "AND #n3 = :v3 AND #n4 IN (:v4, :v5) AND #n5.#n6 > :v6 "
                "AND (#n7.#n8 = :v7 OR (NOT attribute_exists (#n9))) AND size (#n10) >= :v6 "
                "AND #n10[0] = :v8"
            ),
            ExpressionAttributeNames={
                **PK_SK,
                "#n3": "name",
                "#n4": "status",
                "#n5": "meta",
                "#n6": "size",
                "#n7": "dims",
                "#n8": "u",
                "#n9": "count",
                "#n10": "lines",
            },
            ExpressionAttributeValues={
                **C1,
                ":v1": {"S": "ORDER#"},
                ":v2": ORDER,
                ":v3": {"S": "x"},
                ":v4": {"S": "PAID"},
                ":v5": {"S": "NEW"},
                ":v6": {"N": "2"},
                ":v7": {"S": "cm"},
                ":v8": {"S": "first"},
            },
        ),
    ),
    (
        "projection: the selected paths, then the type and the keys",
        lambda: orders().select(Order.name, Order.meta["count"], Order.dims.width, Order.size),
        query(
            KeyConditionExpression="#n0 = :v0 AND begins_with(#n1, :v1)",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2))",
            ProjectionExpression="#n3, #n4.#n5, #n6.#n7, #n8, #n2, #n0, #n1",
            ExpressionAttributeNames={
                **PK_SK,
                "#n3": "name",
                "#n4": "meta",
                "#n5": "count",
                "#n6": "dims",
                "#n7": "width",
                "#n8": "size",
            },
            ExpressionAttributeValues={**C1, ":v1": {"S": "ORDER#"}, ":v2": ORDER},
        ),
    ),
    (
        "limit without a filter asks DynamoDB for exactly that many",
        lambda: orders().limit(20),
        {**on_sk("begins_with(#n1, :v1)", "ORDER#"), "Limit": 20},
    ),
    (
        "limit with a filter starts by asking for the limit too (later asks adapt)",
        lambda: orders().where(Order.total > 1).limit(20),
        query(
            KeyConditionExpression="#n0 = :v0 AND begins_with(#n1, :v1)",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2)) AND #n3 > :v3",
            ExpressionAttributeNames={**PK_SK, "#n3": "total"},
            ExpressionAttributeValues={
                **C1,
                ":v1": {"S": "ORDER#"},
                ":v2": ORDER,
                ":v3": {"N": "1"},
            },
            Limit=20,
        ),
    ),
    (
        "no limit, no page size: DynamoDB's own pages",
        lambda: orders().where(Order.total > 1),
        query(
            KeyConditionExpression="#n0 = :v0 AND begins_with(#n1, :v1)",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2)) AND #n3 > :v3",
            ExpressionAttributeNames={**PK_SK, "#n3": "total"},
            ExpressionAttributeValues={
                **C1,
                ":v1": {"S": "ORDER#"},
                ":v2": ORDER,
                ":v3": {"N": "1"},
            },
        ),
    ),
    (
        "page_size is DynamoDB's Limit per request",
        lambda: orders().where(Order.total > 1).limit(20).page_size(7),
        query(
            KeyConditionExpression="#n0 = :v0 AND begins_with(#n1, :v1)",
            FilterExpression="(#n2 = :v2 OR attribute_not_exists (#n2)) AND #n3 > :v3",
            ExpressionAttributeNames={**PK_SK, "#n3": "total"},
            ExpressionAttributeValues={
                **C1,
                ":v1": {"S": "ORDER#"},
                ":v2": ORDER,
                ":v3": {"N": "1"},
            },
            Limit=7,
        ),
    ),
    (
        "item collection: the whole partition, no type filter",
        lambda: shop.partition_query(Customer.primary, customer_id="c1"),
        query(
            KeyConditionExpression="#n0 = :v0",
            ExpressionAttributeNames={"#n0": "PK"},
            ExpressionAttributeValues=C1,
        ),
    ),
    (
        "item collection restricted to types",
        lambda: shop.partition_query(Customer.primary, types=[Customer, Order], customer_id="c1"),
        query(
            KeyConditionExpression="#n0 = :v0",
            FilterExpression="(#n1 IN (:v1, :v2) OR attribute_not_exists (#n1))",
            ExpressionAttributeNames={"#n0": "PK", "#n1": "_type"},
            ExpressionAttributeValues={**C1, ":v1": {"S": "Customer"}, ":v2": ORDER},
        ),
    ),
    (
        "entity scan: filtered by type",
        lambda: Order.scan().where(Order.total > 1),
        {
            "TableName": "shop",
            "FilterExpression": "(#n0 = :v0 OR attribute_not_exists (#n0)) AND #n1 > :v1",
            "ExpressionAttributeNames": {"#n0": "_type", "#n1": "total"},
            "ExpressionAttributeValues": {":v0": ORDER, ":v1": {"N": "1"}},
            "ConsistentRead": False,
            "ReturnConsumedCapacity": "TOTAL",
        },
    ),
    (
        "table scan of one segment, with a projection",
        lambda: shop.scan().segment(1, of=4).select("email").page_size(100),
        {
            "TableName": "shop",
            "ProjectionExpression": "#n0, #n1, #n2, #n3",
            "ExpressionAttributeNames": {"#n0": "email", "#n1": "_type", "#n2": "PK", "#n3": "SK"},
            "Segment": 1,
            "TotalSegments": 4,
            "ConsistentRead": False,
            "ReturnConsumedCapacity": "TOTAL",
            "Limit": 100,
        },
    ),
]


@pytest.mark.parametrize(("build", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_compile(build: Callable[[], Any], expected: dict[str, Any]) -> None:
    assert build().compile() == expected


def test_builders_return_new_objects_and_leave_the_base_alone() -> None:
    base = orders()
    before = base.compile()
    specialised = base.where(Order.total > 5).select(Order.total).limit(3).reverse()
    assert specialised is not base
    assert base.compile() == before
    assert specialised.filters
    assert not base.filters
    assert isinstance(specialised.filters, tuple)
    assert isinstance(specialised.projection, tuple)


INVALID: list[tuple[str, Callable[[], Any], str]] = [
    (
        "a range on a field that is not leading",
        lambda: orders().range(Order.order_id >= "o1"),
        r"range on 'order_id' needs equality on the fields before it",
    ),
    (
        "a range on an attribute outside the sort template",
        lambda: orders().range(Order.total > 1),
        r"ranges apply to the fields of sort key 'ORDER#\{placed_at\}#\{order_id\}'",
    ),
    (
        "OR in a range",
        lambda: orders().range((Order.placed_at == T) | (Order.placed_at == U)),
        r"range conditions are =, <, <=, >, >=, between\(\) and startswith\(\)",
    ),
    (
        "two ranges",
        lambda: orders().range(Order.placed_at > T, Order.placed_at < U),
        r"'placed_at' has more than one range condition",
    ),
    (
        "a range on a number without zero padding",
        lambda: Plain.query(plain_id="p").range(Plain.n > 3),
        r"does not sort like its values; give numbers a zero-padded format",
    ),
    (
        "between running backwards",
        lambda: orders().range(Order.placed_at.between(U, T)),
        r"the lower bound sorts after the upper bound",
    ),
    (
        "a filter on a key attribute",
        lambda: orders().where(Path(["SK"]) == "x"),
        r"the filter names key attribute 'SK'; DynamoDB refuses key attributes",
    ),
    (
        "a filter on another entity's attribute",
        lambda: orders().where(Customer.email == "x"),
        r"the filter names 'email', which is not an attribute of Order",
    ),
    (
        "not a condition",
        lambda: orders().where(True),
        r"where\(\) takes conditions",
    ),
    (
        "consistent reads on a global index",
        lambda: Order.by_status.query(status="PAID").consistent(),
        r"global index 'GSI1' supports only eventually consistent reads",
    ),
    (
        "an unexpected partition value",
        lambda: Order.query(customer_id="c1", order_id="o1"),
        r"Order\.primary\.query\(\) got unexpected order_id; partition key "
        r"'CUSTOMER#\{customer_id\}' takes customer_id \(restrict the sort key with range",
    ),
    (
        "a missing partition value",
        lambda: Order.query(),
        r"needs a value for 'customer_id'",
    ),
    (
        "a range value containing the delimiter",
        lambda: orders().range(Order.placed_at == T).range(Order.order_id >= "a#b"),
        r"contains the key delimiter",
    ),
    (
        "a strict comparison needing an attribute the index does not project",
        lambda: Order.by_week.query(day="d").range(Order.order_id < "o5"),
        r"filters out the boundary value, but index 'GSI3' does not project 'order_id'",
    ),
    (
        "an entity query on a KEYS_ONLY index, which cannot hold the type attribute",
        lambda: Order.by_day.query(day="d"),
        r"^Order\.by_day\.query\(\): index 'GSI2' has projection KEYS_ONLY and does not hold "
        r"the type attribute '_type'",
    ),
    (
        "a range without a sort key",
        lambda: Setting.query(setting_id="s1").range(Setting.setting_id == "x"),
        r"Setting\.primary has no sort key to range over",
    ),
    ("limit 0", lambda: orders().limit(0), r"limit must be a positive integer"),
    ("page size -1", lambda: orders().page_size(-1), r"page_size must be a positive integer"),
    (
        "a partition key of another table",
        lambda: Table("other").partition_query(Customer.primary, customer_id="c1"),
        r"partition\(\) takes a key of an entity of table 'other'",
    ),
    (
        "a parallel scan has no single request",
        lambda: Order.scan().segments(4).compile(),
        r"compile segment\(i, of=n\)",
    ),
    ("segment out of range", lambda: Order.scan().segment(4, of=4), r"segment must be in 0..3"),
]


@pytest.mark.parametrize(
    ("build", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_queries_are_refused_before_any_request(
    build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        build().compile()
