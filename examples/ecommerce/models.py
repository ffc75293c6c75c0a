"""The shop's single table: every entity of the e-commerce example and its key templates.

One physical table, ``PK``/``SK``, and two overloaded global indexes::

    partition            sort key                             entity
    CUSTOMER#{id}        PROFILE | ADDRESS#{label} | ACTIVITY Customer, Address, CustomerActivity
    EMAIL#{email}        EMAIL                                EmailClaim (uniqueness)
    PRODUCT#{sku}        PRODUCT | REVIEW#{at}#{customer}     Product, Review,
                         | BOUGHT_WITH#{other_sku}            CoPurchase (recommendations)
    ORDER#{order_id}     ORDER | ITEM#{sku}                   Order, OrderItem
    ORDERTOKEN#{token}   ORDERTOKEN                           OrderToken (idempotency)

    GSI1  CUSTOMER#{id} / ORDER#{placed_at}#{order_id}        a customer's orders by date
          CUSTOMER#{id} / REVIEW#{at}#{sku}                   a customer's reviews by date
          CATEGORY#{category} / PRICE#{price_cents}#{sku}     a category by price
    GSI2  STATUS#{status} / ORDER#{placed_at}#{order_id}      orders by status and date
          CATEGORY#{category} / SOLD#{units_sold}#{sku}       best sellers of a category

``dynaorm schema examples.ecommerce.models:shop`` prints this layout from the definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from dynaorm import Entity, Index, Key, Table, VersionAttribute

__all__ = [
    "CANCELLED",
    "ENTITIES",
    "PLACED",
    "SHIPPED",
    "Address",
    "CoPurchase",
    "Customer",
    "CustomerActivity",
    "EmailClaim",
    "Order",
    "OrderItem",
    "OrderToken",
    "Product",
    "Review",
    "shop",
    "shop_table",
]

PLACED = "PLACED"
SHIPPED = "SHIPPED"
CANCELLED = "CANCELLED"

shop = Table(
    "ecommerce",
    pk="PK",
    sk="SK",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", sk="GSI2SK"),
    ],
)


# -- customers --------------------------------------------------------------------------------


class Customer(Entity, table=shop):
    """A customer's profile; versioned, so concurrent profile edits cannot overwrite each other."""

    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    joined_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")


class Address(Entity, table=shop):
    """A delivery address, in the customer's item collection."""

    customer_id = UnicodeAttribute()
    label = UnicodeAttribute()
    line1 = UnicodeAttribute()
    city = UnicodeAttribute()
    postcode = UnicodeAttribute()
    country = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ADDRESS#{label}")


class CustomerActivity(Entity, table=shop):
    """Per-customer counters, only ever changed by ``ADD`` (no read, no version, no conflicts).

    A separate item from the profile, so counting an order never races a profile edit.
    """

    customer_id = UnicodeAttribute()
    orders_placed = NumberAttribute(default=0)
    orders_cancelled = NumberAttribute(default=0)
    items_bought = NumberAttribute(default=0)
    spent_cents = NumberAttribute(default=0)
    reviews_written = NumberAttribute(default=0)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ACTIVITY")


class EmailClaim(Entity, table=shop):
    """Owns an email address: written with the customer in one transaction, under
    ``attribute_not_exists``, so two customers can never hold the same address."""

    email = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    primary = Key(pk="EMAIL#{email}", sk="EMAIL")


# -- catalog ----------------------------------------------------------------------------------


class Product(Entity, table=shop):
    """A product with its stock and sales.

    ``units_sold`` is part of the best-seller index key (GSI2), so orders and cancellations
    write it as a plain value read just before, under the product's version: the index key is
    rewritten in the same request and is never stale.
    """

    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    category = UnicodeAttribute()
    price_cents = NumberAttribute()
    stock = NumberAttribute()
    units_sold = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    rating_total = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")
    by_price = Key(index="GSI1", pk="CATEGORY#{category}", sk="PRICE#{price_cents:010d}#{sku}")
    best_sellers = Key(index="GSI2", pk="CATEGORY#{category}", sk="SOLD#{units_sold:010d}#{sku}")


class Review(Entity, table=shop):
    """A review, in the product's item collection, newest last in key order."""

    sku = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    rating = NumberAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    reviewed_at = UTCDateTimeAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="REVIEW#{reviewed_at}#{customer_id}")
    by_customer = Key(index="GSI1", pk="CUSTOMER#{customer_id}", sk="REVIEW#{reviewed_at}#{sku}")


class CoPurchase(Entity, table=shop):
    """How many orders held both ``sku`` and ``other_sku`` (one item per direction).

    Counted with ``ADD`` in the order transaction; recommendations read the product's
    ``BOUGHT_WITH#`` items and sort them by count.
    """

    sku = UnicodeAttribute()
    other_sku = UnicodeAttribute()
    orders = NumberAttribute(default=0)
    primary = Key(pk="PRODUCT#{sku}", sk="BOUGHT_WITH#{other_sku}")


# -- orders -----------------------------------------------------------------------------------


class Order(Entity, table=shop):
    """An order; its items share its partition. Status changes move it in the status index."""

    order_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    placed_at = UTCDateTimeAttribute()
    total_cents = NumberAttribute()
    item_count = NumberAttribute()
    token = UnicodeAttribute()
    shipped_at = UTCDateTimeAttribute(null=True)
    cancelled_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
    primary = Key(pk="ORDER#{order_id}", sk="ORDER")
    by_customer = Key(index="GSI1", pk="CUSTOMER#{customer_id}", sk="ORDER#{placed_at}#{order_id}")
    by_status = Key(index="GSI2", pk="STATUS#{status}", sk="ORDER#{placed_at}#{order_id}")

    @classmethod
    def priced(
        cls,
        order_id: str,
        customer_id: str,
        lines: Mapping[str, int],
        products: Mapping[str, Product],
        *,
        placed_at: datetime,
        token: str,
        status: str = PLACED,
    ) -> Order:
        """A new order for ``lines`` (``{sku: qty}``), priced from ``products``."""
        return cls(
            order_id=order_id,
            customer_id=customer_id,
            status=status,
            placed_at=placed_at,
            total_cents=sum(int(products[sku].price_cents) * qty for sku, qty in lines.items()),
            item_count=sum(lines.values()),
            token=token,
        )


class OrderItem(Entity, table=shop):
    """One line of an order, priced when the order was placed."""

    order_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    qty = NumberAttribute()
    unit_price_cents = NumberAttribute()
    primary = Key(pk="ORDER#{order_id}", sk="ITEM#{sku}")

    @classmethod
    def of(cls, order_id: str, product: Product, qty: int) -> OrderItem:
        """The line of order ``order_id`` for ``qty`` of ``product``, at its current price."""
        return cls(
            order_id=order_id,
            sku=product.sku,
            name=product.name,
            qty=qty,
            unit_price_cents=product.price_cents,
        )


class OrderToken(Entity, table=shop):
    """The client's idempotency token for placing an order, pointing at the order it placed.

    Written in the order transaction under ``attribute_not_exists``: a second placement with
    the same token either finds it first or fails on it, and returns the existing order.
    """

    token = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    primary = Key(pk="ORDERTOKEN#{token}", sk="ORDERTOKEN")


ENTITIES: tuple[type[Entity], ...] = (
    Customer,
    Address,
    CustomerActivity,
    EmailClaim,
    Product,
    Review,
    CoPurchase,
    Order,
    OrderItem,
    OrderToken,
)
"""The shop's entities, all defined on :data:`shop`."""


def shop_table(table: Table) -> Table:
    """``table``, once it is known to hold the shop's entities (what every service checks).

    The services work on the table they are given, and the caller decides which physical
    table and connection that is (``table_factory`` renames it in the tests,
    ``table.override(...)`` scopes another name). The entities' own methods (``Order.get``,
    ``order.update``) reach the table through their definition, so the services need the
    table the entities are defined on: :data:`shop`, under whatever name it has now.

    Raises:
        ValueError: ``table`` is another table.
    """
    missing = [e.__name__ for e in ENTITIES if table.entities.get(e.__type_name__) is not e]
    if missing:
        raise ValueError(
            f"the shop's services need the table its entities are defined on "
            f"(examples.ecommerce.models.shop); {table!r} lacks {', '.join(missing)}"
        )
    return table
