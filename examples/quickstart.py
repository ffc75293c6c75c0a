"""A small tour of dynaorm on the embedded local server (``make demo``)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

import dynaorm
from dynaorm import Entity, Index, Key, Table, VersionAttribute, VersionConflict
from dynaorm.local import LocalDynamoDB

shop = Table(
    "shop",
    pk="PK",
    sk="SK",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", sk="GSI2SK"),
    ],
)


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute()
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    total = NumberAttribute()
    placed_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI2", pk="STATUS#{status}", sk="{placed_at}")


def main() -> None:
    with LocalDynamoDB() as server:
        dynaorm.configure(endpoint_url=server.endpoint_url)
        shop.create()
        print(f"table {shop.name!r} on {server.endpoint_url}")

        customer = Customer(customer_id="c1", email="ada@example.com")
        customer.save()
        print("saved", customer, "->", customer.item_key.key)

        for n in range(3):
            Order(
                customer_id="c1",
                order_id=f"o{n}",
                status="PAID",
                total=10 * (n + 1),
                placed_at=datetime.now(UTC),
            ).save()

        print("read back", Customer.get(customer_id="c1"))
        print("missing item reads as", Customer.get(customer_id="nobody"))

        stale = Customer.get(customer_id="c1")
        customer.email = "ada@example.org"
        customer.save()
        try:
            assert stale is not None
            stale.save()
        except VersionConflict as exc:
            print("optimistic lock:", exc)

        try:
            Customer(customer_id="c2#PROFILE", email="x@example.com").save()
        except dynaorm.ValidationError as exc:
            print("refused before any request:", exc)

        response = shop.call(
            "Query",
            {
                "TableName": shop.name,
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": shop.pk},
                "ExpressionAttributeValues": {":pk": {"S": "CUSTOMER#c1"}},
            },
            idempotent=True,
        )
        print("the customer's item collection:")
        for item in response["Items"]:
            print("  ", _describe(shop.from_item(item)))
        shop.delete()


def _describe(entity: object) -> str:
    """One line per item, with dates printed as dates."""
    if isinstance(entity, Order):
        placed = entity.placed_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"Order {entity.order_id}: {entity.status}, total {entity.total}, placed {placed}"
    return repr(entity)


if __name__ == "__main__":
    main()
