"""Orders: place (idempotent, never oversells), cancel (restocks exactly), ship, and read.

Placing an order is one transaction: per line a conditional stock decrement that also counts
the units sold, the order and its items, the customer's activity counters, the co-purchase
counters, a check that the customer exists, and the order-token item that makes a repeated
placement a no-op. Either all of it is written or none of it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import attrs

from dynaorm import (
    ConditionFailed,
    Page,
    Query,
    RetryPolicy,
    Table,
    Transaction,
    TransactionCanceled,
    retry_on_conflict,
)
from examples.ecommerce._contention import CONTENTION, lost_race, read_products
from examples.ecommerce.errors import (
    InvalidOrder,
    InvalidTransition,
    OrderNotFound,
    OutOfStock,
    TokenReused,
    TooBusy,
    UnknownCustomer,
)
from examples.ecommerce.models import (
    CANCELLED,
    PLACED,
    SHIPPED,
    CoPurchase,
    Customer,
    CustomerActivity,
    Order,
    OrderItem,
    OrderToken,
    Product,
    shop_table,
)

__all__ = ["MAX_LINES", "OrderDetails", "OrderLine", "Orders"]

MAX_LINES = 8
"""Products per order. A placement takes 2 actions per line, 4 per order and one per ordered
pair of products (8 lines: 16 + 4 + 56 = 76), within DynamoDB's 100 per transaction."""


@attrs.frozen
class OrderLine:
    """One line of an order request: a product and a quantity."""

    sku: str
    qty: int


@attrs.frozen
class OrderDetails:
    """An order with its items (one query of the order's item collection)."""

    order: Order
    items: tuple[OrderItem, ...]


def _now(at: datetime | None) -> datetime:
    return at if at is not None else datetime.now(UTC)


def _normalise(lines: Iterable[OrderLine] | Mapping[str, int]) -> dict[str, int]:
    pairs = lines.items() if isinstance(lines, Mapping) else ((x.sku, x.qty) for x in lines)
    quantities: dict[str, int] = {}
    for sku, qty in pairs:
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise InvalidOrder(f"line {sku!r}: quantity must be a positive integer, got {qty!r}")
        quantities[sku] = quantities.get(sku, 0) + qty
    if not quantities:
        raise InvalidOrder("an order needs at least one line")
    if len(quantities) > MAX_LINES:
        raise InvalidOrder(f"an order takes at most {MAX_LINES} products, got {len(quantities)}")
    return quantities


def _count_activity(
    tx: Transaction, customer_id: str, quantities: Mapping[str, int], total: int, sign: int
) -> None:
    """Add (``sign=1``) or take back (``sign=-1``) an order's counters: activity, co-purchases."""
    activity = CustomerActivity.key(customer_id=customer_id)
    counter = CustomerActivity.orders_placed if sign > 0 else CustomerActivity.orders_cancelled
    tx.update(
        activity,
        counter.add(1),
        CustomerActivity.items_bought.add(sign * sum(quantities.values())),
        CustomerActivity.spent_cents.add(sign * total),
    )
    for sku, other in itertools.permutations(sorted(quantities), 2):
        tx.update(CoPurchase.key(sku=sku, other_sku=other), CoPurchase.orders.add(sign))


class Orders:
    """The order services, on the shop's table: place, cancel, ship, and read orders.

    Args:
        table: The shop's table (:data:`examples.ecommerce.models.shop`, under any name).
        contention: How often, and with what pauses, an order or a cancellation that lost a
            race for the same products is retried from a fresh read.

    Example:
        >>> orders = Orders(shop)  # doctest: +SKIP
        >>> order = orders.place_order("c1", {"sku-1": 2}, token="cart-42")  # doctest: +SKIP
    """

    def __init__(self, table: Table, *, contention: RetryPolicy = CONTENTION) -> None:
        self.table = shop_table(table)
        self.contention = contention

    def _existing(
        self, token: str, customer_id: str, quantities: Mapping[str, int]
    ) -> Order | None:
        """The order placed with ``token``, if any, once it is known to be this very request.

        Raises:
            TokenReused: The token placed another customer's order, or one with other lines.
            OrderNotFound: The token's order is gone.
        """
        claim = OrderToken.get(token=token, consistent=True)
        if claim is None:
            return None
        if claim.customer_id != customer_id:
            raise TokenReused(token, claim.order_id, "for another customer")
        # Written together with the claim: OrderNotFound here means it was removed since.
        details = self.get_order(claim.order_id, consistent=True)
        placed = {item.sku: int(item.qty) for item in details.items}
        if placed != dict(quantities):
            raise TokenReused(token, claim.order_id, f"with other lines ({placed})")
        return details.order

    def place_order(
        self,
        customer_id: str,
        lines: Iterable[OrderLine] | Mapping[str, int],
        *,
        token: str,
        at: datetime | None = None,
    ) -> Order:
        """Place an order in one transaction; repeating it with the same ``token`` is a no-op.

        Per line, the product's stock goes down and its units sold up, as plain values
        computed from a consistent read and conditioned on the product's version and
        ``stock >= qty``: the stock never goes negative, and the best-seller index key (built
        from ``units_sold``) is rewritten in the same request. When another order changed a
        product in between, the transaction is cancelled and the whole attempt repeated from
        a fresh read.

        Args:
            customer_id: Who orders; the customer must exist.
            lines: ``OrderLine`` objects or a ``{sku: qty}`` mapping (a sku given twice adds
                up).
            token: The client's idempotency token (e.g. its cart id): the first placement
                with a token places the order; a later one with the same customer and lines
                returns that order and writes nothing (``at`` is not compared).
            at: The order time (default: now).

        Returns:
            The order placed now, or the one placed earlier with ``token``.

        Raises:
            OutOfStock: A line asks for more than the product has; nothing was written.
            UnknownProduct: A line names no product.
            UnknownCustomer: No customer has ``customer_id``.
            InvalidOrder: No lines, a quantity that is not a positive integer, or too many
                lines.
            TokenReused: ``token`` already placed an order for another customer or with other
                lines (a subclass of ``InvalidOrder``).
            TooBusy: Competing orders kept winning the race for the same products.

        Example:
            >>> order = orders.place_order("c1", {"sku-1": 2}, token="cart-42")  # doctest: +SKIP
            >>> orders.place_order("c1", {"sku-1": 2}, token="cart-42") == order  # doctest: +SKIP
            True
        """
        quantities = _normalise(lines)
        existing = self._existing(token, customer_id, quantities)
        if existing is not None:
            return existing
        placed_at = _now(at)
        order_id = uuid.uuid4().hex[:16]

        def attempt() -> Order:
            products = read_products(self.table, quantities)
            short = [sku for sku, qty in quantities.items() if products[sku].stock < qty]
            if short:
                # A concurrent placement with this token may be what took the stock.
                existing = self._existing(token, customer_id, quantities)
                if existing is not None:
                    return existing
                raise OutOfStock(short[0], quantities[short[0]], int(products[short[0]].stock))
            order = Order.priced(
                order_id, customer_id, quantities, products, placed_at=placed_at, token=token
            )
            try:
                with self.table.transaction() as tx:
                    for sku, qty in quantities.items():
                        product = products[sku]
                        tx.update(
                            product,
                            Product.stock.set(product.stock - qty),
                            Product.units_sold.set(product.units_sold + qty),
                            condition=Product.stock >= qty,
                        )
                    tx.put(order)
                    for sku, qty in quantities.items():
                        tx.put(OrderItem.of(order_id, products[sku], qty))
                    tx.put(
                        OrderToken(token=token, customer_id=customer_id, order_id=order_id),
                        condition=OrderToken.order_id.does_not_exist(),
                    )
                    tx.check(Customer.key(customer_id=customer_id), Customer.name.exists())
                    _count_activity(tx, customer_id, quantities, int(order.total_cents), sign=1)
            except TransactionCanceled as exc:
                return self._placement_failed(exc, token, customer_id, quantities)
            return order

        return retry_on_conflict(attempt, policy=self.contention, retry_on=TooBusy)

    def _placement_failed(
        self,
        exc: TransactionCanceled,
        token: str,
        customer_id: str,
        quantities: Mapping[str, int],
    ) -> Order:
        """What a cancelled placement means, in this order: the token was used meanwhile (by a
        concurrent placement: return its order), the customer does not exist, a product sold
        out meanwhile, or a lost race (retry from a fresh read)."""
        failed = {reason.key.entity: reason for reason in exc.reasons if reason.failed}
        if OrderToken in failed:
            existing = self._existing(token, customer_id, quantities)
            if existing is not None:
                return existing
        if Customer in failed:
            raise UnknownCustomer(customer_id) from exc
        for reason in exc.reasons:
            stored = reason.item
            if (
                reason.failed
                and isinstance(stored, Product)
                and stored.stock < quantities[stored.sku]
            ):
                raise OutOfStock(stored.sku, quantities[stored.sku], int(stored.stock)) from exc
        if any(lost_race(reason) for reason in exc.reasons if reason.failed):
            raise TooBusy(f"placing order {token!r}") from exc
        raise exc

    def get_order(self, order_id: str, *, consistent: bool = False) -> OrderDetails:
        """An order and its items, read with one query of the order's partition.

        Raises:
            OrderNotFound: No order has ``order_id``.
        """
        collection = self.table.partition(
            Order.primary, types=[Order, OrderItem], consistent=consistent, order_id=order_id
        )
        order = collection.first(Order)
        if order is None:
            raise OrderNotFound(order_id)
        return OrderDetails(order, tuple(collection[OrderItem]))

    def cancel_order(self, order_id: str, *, at: datetime | None = None) -> Order:
        """Cancel a placed order: restock every line exactly and take its counters back.

        One transaction changes the status (the order moves to the ``CANCELLED`` partition of
        the status index), puts each line's quantity back in stock and off the units sold,
        and takes the order back out of the customer's and the co-purchase counters.

        Raises:
            OrderNotFound: No order has ``order_id``.
            InvalidTransition: The order is not ``PLACED`` (already shipped or cancelled).
            TooBusy: Competing writers kept changing the same products.
        """
        cancelled_at = _now(at)
        what = f"cancelling order {order_id!r}"

        def attempt() -> Order:
            details = self.get_order(order_id, consistent=True)
            order = details.order
            if order.status != PLACED:
                raise InvalidTransition(order_id, order.status, "cancel")
            quantities = {item.sku: int(item.qty) for item in details.items}
            products = read_products(self.table, quantities)
            try:
                with self.table.transaction() as tx:
                    tx.update(
                        order,
                        Order.status.set(CANCELLED),
                        Order.cancelled_at.set(cancelled_at),
                        condition=Order.status == PLACED,
                    )
                    for sku, qty in quantities.items():
                        product = products[sku]
                        tx.update(
                            product,
                            Product.stock.set(product.stock + qty),
                            Product.units_sold.set(max(0, product.units_sold - qty)),
                        )
                    _count_activity(tx, order.customer_id, quantities, int(order.total_cents), -1)
            except TransactionCanceled as exc:
                if any(r.failed and r.key.entity is Order for r in exc.reasons):
                    raise TooBusy(what) from exc  # the status changed: the re-read says how
                if any(lost_race(r) for r in exc.reasons if r.failed):
                    raise TooBusy(what) from exc
                raise
            order.refresh()
            return order

        return retry_on_conflict(attempt, policy=self.contention, retry_on=TooBusy)

    def ship_order(self, order_id: str, *, at: datetime | None = None) -> Order:
        """Mark a placed order as shipped; it moves to the ``SHIPPED`` partition of the status
        index.

        A single conditional update: the status index key is rewritten in the same request.

        Raises:
            OrderNotFound: No order has ``order_id``.
            InvalidTransition: The order is not ``PLACED``.
        """
        shipped_at = _now(at)

        def attempt() -> Order:
            order = Order.get(order_id=order_id, consistent=True)
            if order is None:
                raise OrderNotFound(order_id)
            if order.status != PLACED:
                raise InvalidTransition(order_id, order.status, "ship")
            try:
                order.update(
                    Order.status.set(SHIPPED),
                    Order.shipped_at.set(shipped_at),
                    condition=Order.status == PLACED,
                )
            except ConditionFailed as exc:  # VersionConflict included: re-read and decide
                raise TooBusy(f"shipping order {order_id!r}") from exc
            return order

        return retry_on_conflict(attempt, policy=self.contention, retry_on=TooBusy)

    def history_query(self, customer_id: str) -> Query[Order]:
        """A customer's orders, newest first (GSI1: ``CUSTOMER#id`` / ``ORDER#placed_at#id``)."""
        return Order.by_customer.query(customer_id=customer_id).reverse()

    def order_history(
        self, customer_id: str, *, limit: int = 10, cursor: str | None = None
    ) -> Page[Order]:
        """One page of a customer's orders, newest first; pass ``page.cursor`` for the next one.

        Example:
            >>> page = orders.order_history("c1", limit=5)  # doctest: +SKIP
            >>> more = orders.order_history("c1", limit=5, cursor=page.cursor)  # doctest: +SKIP
        """
        return self.history_query(customer_id).limit(limit).after(cursor).page()

    def status_query(self, status: str, since: datetime, until: datetime) -> Query[Order]:
        """Orders with ``status`` placed in ``[since, until]``, newest first (GSI2)."""
        return (
            Order.by_status.query(status=status)
            .range(Order.placed_at.between(since, until))
            .reverse()
        )

    def orders_by_status(
        self,
        status: str,
        *,
        since: datetime,
        until: datetime,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[Order]:
        """One page of the orders with ``status`` placed between ``since`` and ``until``."""
        return self.status_query(status, since, until).limit(limit).after(cursor).page()
