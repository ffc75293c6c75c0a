"""The e-commerce example's services against the test server (examples/ecommerce)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dynaorm import BatchProgress, Table
from examples.ecommerce import catalog, customers, orders
from examples.ecommerce.errors import (
    EmailTaken,
    InvalidOrder,
    InvalidTransition,
    OrderNotFound,
    OutOfStock,
    UnknownCustomer,
    UnknownProduct,
)
from examples.ecommerce.models import (
    CANCELLED,
    PLACED,
    SHIPPED,
    CoPurchase,
    CustomerActivity,
    EmailClaim,
    Order,
    OrderItem,
    OrderToken,
    Product,
    shop,
)

Factory = Callable[[Table], Table]

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


def product(sku: str, *, stock: int = 10, price: int = 500, category: str = "books") -> Product:
    return Product(
        sku=sku, name=f"Product {sku}", category=category, price_cents=price, stock=stock
    )


def stored(sku: str) -> Product:
    found = Product.get(sku=sku, consistent=True)
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-ecommerce-secret")


@pytest.fixture
def store(table_factory: Factory) -> Table:
    """A fresh shop table with one customer and a few products."""
    table = table_factory(shop)
    catalog.import_products([product("a"), product("b", price=250), product("c", stock=3)])
    customers.register_customer("Ada", "ada@example.com", customer_id="c1", at=T0)
    return table


# -- customers ------------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_register_claims_the_email(table_factory: Factory) -> None:
    table_factory(shop)
    ada = customers.register_customer("Ada", " Ada@Example.com ", at=T0)
    assert ada.email == "ada@example.com"
    assert ada.version == 1
    claim = EmailClaim.get(email="ada@example.com", consistent=True)
    assert claim is not None
    assert claim.customer_id == ada.customer_id


@pytest.mark.requires("transactions")
def test_a_duplicate_email_is_refused_and_nothing_is_written(table_factory: Factory) -> None:
    table_factory(shop)
    customers.register_customer("Ada", "ada@example.com", customer_id="c1")
    with pytest.raises(EmailTaken, match=r"ada@example\.com") as err:
        customers.register_customer("Imposter", "ADA@example.com", customer_id="c2")
    assert err.value.email == "ada@example.com"
    with pytest.raises(UnknownCustomer):
        customers.customer_profile("c2")


@pytest.mark.requires("transactions")
def test_profile_reads_the_customer_collection(store: Table) -> None:
    customers.add_address(
        "c1", "home", line1="1 Main St", city="Oslo", postcode="0150", country="NO"
    )
    with pytest.raises(UnknownCustomer):
        customers.add_address("nobody", "home", line1="x", city="x", postcode="x", country="x")
    profile = customers.customer_profile("c1")
    assert profile.customer.name == "Ada"
    assert [a.city for a in profile.addresses] == ["Oslo"]
    assert profile.activity.orders_placed == 0
    assert customers.customer_activity("nobody") == CustomerActivity(customer_id="nobody")


# -- catalog --------------------------------------------------------------------------------


def test_bulk_import_of_more_than_25_products(table_factory: Factory) -> None:
    table_factory(shop)
    reports: list[BatchProgress] = []
    result = catalog.import_products(
        (product(f"p{i:03d}", category=f"cat{i % 3}") for i in range(60)), progress=reports.append
    )
    assert result.puts == 60
    assert result.requests >= 3
    assert reports
    assert reports[-1].done == 60
    assert [p.sku for p in catalog.products_by_price("cat0", limit=100)] == [
        f"p{i:03d}" for i in range(0, 60, 3)
    ]
    assert stored("p059").version == 1


def test_products_by_price_is_cheapest_first(table_factory: Factory) -> None:
    table_factory(shop)
    catalog.import_products([product("x", price=900), product("y", price=100), product("z")])
    assert [p.sku for p in catalog.products_by_price("books")] == ["y", "z", "x"]
    assert [p.sku for p in catalog.products_by_price("books", max_price_cents=500)] == ["y", "z"]


# -- placing orders -------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_placing_an_order_writes_everything_in_one_transaction(store: Table) -> None:
    order = orders.place_order("c1", {"a": 2, "b": 1}, token="cart-1", at=T0)
    assert (order.status, order.total_cents, order.item_count) == (PLACED, 1250, 3)
    details = orders.get_order(order.order_id)
    assert details.order == order
    assert [(i.sku, i.qty, i.unit_price_cents) for i in details.items] == [
        ("a", 2, 500),
        ("b", 1, 250),
    ]
    a = stored("a")
    assert (a.stock, a.units_sold, a.version) == (8, 2, 2)
    activity = customers.customer_activity("c1")
    assert (activity.orders_placed, activity.items_bought, activity.spent_cents) == (1, 3, 1250)
    claim = OrderToken.get(token="cart-1")
    assert claim is not None
    assert claim.order_id == order.order_id
    assert [c.other_sku for c in catalog.bought_together("a")] == ["b"]
    # The best-seller index key follows units_sold.
    assert [p.sku for p in catalog.top_products("books")] == ["a", "b", "c"]


@pytest.mark.requires("transactions")
def test_repeating_a_placement_with_the_same_token_is_a_no_op(store: Table) -> None:
    first = orders.place_order("c1", {"a": 2}, token="cart-1", at=T0)
    again = orders.place_order("c1", {"a": 2}, token="cart-1", at=T0 + timedelta(minutes=1))
    assert again == first
    assert stored("a").stock == 8
    assert [o.order_id for o in orders.order_history("c1").items] == [first.order_id]
    assert customers.customer_activity("c1").orders_placed == 1


@pytest.mark.requires("transactions")
def test_concurrent_placements_with_one_token_place_one_order(store: Table) -> None:
    start = threading.Barrier(6)
    placed: list[str] = []

    def place() -> None:
        start.wait()
        placed.append(orders.place_order("c1", {"c": 3}, token="double-click").order_id)

    threads = [threading.Thread(target=place) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(placed) == 6
    assert len(set(placed)) == 1  # even those that found the stock gone get the order
    assert stored("c").stock == 0
    assert customers.customer_activity("c1").orders_placed == 1


@pytest.mark.requires("transactions")
def test_a_token_of_another_customer_is_refused(store: Table) -> None:
    customers.register_customer("Bob", "bob@example.com", customer_id="c2")
    orders.place_order("c1", {"a": 1}, token="cart-1")
    with pytest.raises(InvalidOrder, match="another customer"):
        orders.place_order("c2", {"a": 1}, token="cart-1")
    assert stored("a").stock == 9


@pytest.mark.requires("transactions")
def test_out_of_stock_names_the_product_and_writes_nothing(store: Table) -> None:
    with pytest.raises(OutOfStock, match="'c'") as err:
        orders.place_order("c1", {"a": 1, "c": 4}, token="cart-1")
    assert (err.value.sku, err.value.requested, err.value.available) == ("c", 4, 3)
    assert stored("a").stock == 10
    assert OrderToken.get(token="cart-1", consistent=True) is None
    assert orders.order_history("c1").items == ()


@pytest.mark.requires("transactions", "return_values_on_condition_failure")
def test_stock_sold_between_read_and_commit_is_mapped_to_out_of_stock(store: Table) -> None:
    """Another buyer takes the stock after the placement read it: the cancellation reason
    (the product as stored) becomes OutOfStock at once, without another attempt."""
    sent: list[str] = []

    def sell_out_meanwhile(**_: Any) -> None:
        sent.append("TransactWriteItems")
        if len(sent) == 1:
            Product.update_by_key(Product.key(sku="c"), Product.stock.set(1))

    events = store.transport.client.meta.events
    events.register("before-parameter-build.dynamodb.TransactWriteItems", sell_out_meanwhile)
    try:
        with pytest.raises(OutOfStock, match="'c'") as err:
            orders.place_order("c1", {"a": 1, "c": 2}, token="cart-2")
    finally:
        events.unregister("before-parameter-build.dynamodb.TransactWriteItems", sell_out_meanwhile)
    assert (err.value.requested, err.value.available) == (2, 1)
    assert sent == ["TransactWriteItems"]
    assert (stored("a").stock, stored("c").stock) == (10, 1)


@pytest.mark.requires("transactions")
def test_invalid_orders_are_refused_before_any_write(store: Table) -> None:
    with pytest.raises(UnknownProduct, match="nope"):
        orders.place_order("c1", {"nope": 1}, token="t1")
    with pytest.raises(UnknownCustomer, match="ghost"):
        orders.place_order("ghost", {"a": 1}, token="t2")
    assert stored("a").stock == 10
    with pytest.raises(InvalidOrder):
        orders.place_order("c1", {}, token="t3")
    with pytest.raises(InvalidOrder):
        orders.place_order("c1", {"a": 0}, token="t3")
    with pytest.raises(InvalidOrder):
        orders.place_order("c1", {f"s{i}": 1 for i in range(orders.MAX_LINES + 1)}, token="t3")
    merged = orders.place_order(
        "c1", [orders.OrderLine("a", 1), orders.OrderLine("a", 2)], token="t4"
    )
    assert [(i.sku, i.qty) for i in orders.get_order(merged.order_id).items] == [("a", 3)]
    assert stored("a").stock == 7


@pytest.mark.requires("transactions")
def test_concurrent_orders_never_oversell(table_factory: Factory) -> None:
    table_factory(shop)
    catalog.import_products([product("hot", stock=12)])
    customers.register_customer("Ada", "ada@example.com", customer_id="c1")
    buyers = 10
    start = threading.Barrier(buyers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(n: int) -> None:
        start.wait()
        try:
            orders.place_order("c1", {"hot": 2}, token=f"buyer-{n}")
            outcome = "bought"
        except OutOfStock:
            outcome = "out of stock"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("bought") == 12 // 2
    assert outcomes.count("out of stock") == buyers - 6
    hot = stored("hot")
    assert (hot.stock, hot.units_sold) == (0, 12)
    placed = orders.order_history("c1", limit=100).items
    assert len(placed) == 6
    assert customers.customer_activity("c1").items_bought == 12


# -- cancelling and shipping ----------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_cancel_restocks_exactly_and_a_second_cancel_is_refused(store: Table) -> None:
    order = orders.place_order("c1", {"a": 3, "c": 2}, token="cart-1", at=T0)
    cancelled = orders.cancel_order(order.order_id, at=T0 + timedelta(hours=1))
    assert cancelled.status == CANCELLED
    assert cancelled.cancelled_at == T0 + timedelta(hours=1)
    assert (stored("a").stock, stored("a").units_sold) == (10, 0)
    assert (stored("c").stock, stored("c").units_sold) == (3, 0)
    activity = customers.customer_activity("c1")
    assert (activity.orders_placed, activity.orders_cancelled) == (1, 1)
    assert (activity.items_bought, activity.spent_cents) == (0, 0)
    assert catalog.bought_together("a") == []
    with pytest.raises(InvalidTransition, match="CANCELLED") as err:
        orders.cancel_order(order.order_id)
    assert err.value.action == "cancel"
    assert stored("a").stock == 10
    with pytest.raises(InvalidTransition):
        orders.ship_order(order.order_id)
    with pytest.raises(OrderNotFound):
        orders.cancel_order("missing")


@pytest.mark.requires("transactions")
def test_shipping_moves_the_order_in_the_status_index(store: Table) -> None:
    order = orders.place_order("c1", {"a": 1}, token="cart-1", at=T0)
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))

    def in_status(status: str) -> list[str]:
        page = orders.orders_by_status(status, since=window[0], until=window[1])
        return [o.order_id for o in page.items]

    assert in_status(PLACED) == [order.order_id]
    shipped = orders.ship_order(order.order_id, at=T0 + timedelta(hours=2))
    assert shipped.status == SHIPPED
    assert in_status(PLACED) == []
    assert in_status(SHIPPED) == [order.order_id]
    with pytest.raises(InvalidTransition, match="SHIPPED"):
        orders.cancel_order(order.order_id)
    with pytest.raises(InvalidTransition):
        orders.ship_order(order.order_id)
    with pytest.raises(OrderNotFound):
        orders.ship_order("missing")
    assert stored("a").stock == 9


# -- reads ----------------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_history_pages_through_cursors_newest_first(store: Table) -> None:
    placed = [
        orders.place_order("c1", {"b": 1}, token=f"t{n}", at=T0 + timedelta(hours=n)).order_id
        for n in range(7)
    ]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = orders.order_history("c1", limit=3, cursor=cursor)
        seen.extend(o.order_id for o in page.items)
        pages += 1
        cursor = page.cursor
        if cursor is None or not page.items:
            break
    assert seen == list(reversed(placed))
    assert pages >= 3


@pytest.mark.requires("transactions")
def test_orders_by_status_in_a_date_range(store: Table) -> None:
    placed = [
        orders.place_order("c1", {"b": 1}, token=f"t{n}", at=T0 + timedelta(days=n))
        for n in range(5)
    ]
    orders.ship_order(placed[2].order_id)
    found = orders.orders_by_status(
        PLACED, since=T0 + timedelta(days=1), until=T0 + timedelta(days=3, hours=1)
    )
    assert [o.order_id for o in found] == [placed[3].order_id, placed[1].order_id]
    request = orders.status_query(PLACED, T0, T0).compile()
    assert request["IndexName"] == "GSI2"
    assert request["ScanIndexForward"] is False


@pytest.mark.requires("transactions")
def test_reviews_newest_first_and_counted(store: Table) -> None:
    for n in range(5):
        catalog.write_review("a", "c1", rating=n + 1, title=f"take {n}", at=T0 + timedelta(days=n))
    first = catalog.product_reviews("a", limit=3)
    rest = catalog.product_reviews("a", limit=3, cursor=first.cursor)
    assert [r.title for r in (*first.items, *rest.items)] == [f"take {n}" for n in range(4, -1, -1)]
    catalog.write_review("b", "c1", rating=4, title="on b", at=T0 + timedelta(days=2, hours=1))
    by_c1 = catalog.customer_reviews("c1", limit=3)
    assert [(r.sku, r.title) for r in by_c1] == [("a", "take 4"), ("a", "take 3"), ("b", "on b")]
    a = stored("a")
    assert (a.rating_count, a.rating_total) == (5, 15)
    assert customers.customer_activity("c1").reviews_written == 6
    with pytest.raises(UnknownProduct):
        catalog.write_review("nope", "c1", rating=5, title="?")
    with pytest.raises(ValueError, match="1 to 5"):
        catalog.write_review("a", "c1", rating=6, title="!")


@pytest.mark.requires("transactions")
def test_top_products_follow_orders_and_cancellations(store: Table) -> None:
    catalog.import_products([product("m1", category="music"), product("m2", category="music")])
    orders.place_order("c1", {"b": 3}, token="t1")
    orders.place_order("c1", {"c": 2, "m2": 5}, token="t2")
    big = orders.place_order("c1", {"a": 4}, token="t3")
    assert [(p.sku, p.units_sold) for p in catalog.top_products("books", limit=2)] == [
        ("a", 4),
        ("b", 3),
    ]
    orders.cancel_order(big.order_id)
    assert [p.sku for p in catalog.top_products("books")] == ["b", "c", "a"]
    assert [p.sku for p in catalog.best_sellers(["books", "music"], limit=3)] == ["m2", "b", "c"]
    request = catalog.top_products_query("books").compile()
    assert request["IndexName"] == "GSI2"


@pytest.mark.requires("transactions")
def test_bought_together_ranks_co_purchases(store: Table) -> None:
    catalog.import_products([product("d")])
    orders.place_order("c1", {"a": 1, "b": 1}, token="t1")
    orders.place_order("c1", {"a": 1, "b": 1, "c": 1}, token="t2")
    orders.place_order("c1", {"a": 1, "d": 1}, token="t3")
    orders.place_order("c1", {"a": 1, "c": 1}, token="t4")
    ranked = catalog.bought_together("a")
    assert [(c.other_sku, c.orders) for c in ranked] == [("b", 2), ("c", 2), ("d", 1)]
    assert [c.other_sku for c in catalog.bought_together("a", limit=1)] == ["b"]
    assert [(c.other_sku, c.orders) for c in catalog.bought_together("d")] == [("a", 1)]
    counter = CoPurchase.get(sku="b", other_sku="c")
    assert counter is not None
    assert counter.orders == 1
    assert OrderItem.get(order_id=orders.order_history("c1").items[0].order_id, sku="a")
    assert Order.get(order_id="missing") is None
