"""The e-commerce example's services against the test server (examples/ecommerce)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from support import error_response, hooked

from dynaorm import BatchProgress, InvalidCursor, RetryPolicy, Table, TransactionCanceled
from dynaorm.wire.hooks import Answer, Attempt, hooks_for
from examples.ecommerce.catalog import Catalog
from examples.ecommerce.customers import Customers
from examples.ecommerce.errors import (
    EmailTaken,
    InvalidOrder,
    InvalidTransition,
    OrderNotFound,
    OutOfStock,
    TokenReused,
    TooBusy,
    UnknownCustomer,
    UnknownProduct,
)
from examples.ecommerce.models import (
    CANCELLED,
    PLACED,
    SHIPPED,
    CoPurchase,
    Customer,
    CustomerActivity,
    EmailClaim,
    Order,
    OrderItem,
    OrderToken,
    Product,
    shop,
)
from examples.ecommerce.orders import MAX_LINES, OrderLine, Orders
from examples.ecommerce.services import Services

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


def run_together(*calls: Callable[[], object]) -> list[object]:
    """Run ``calls`` in threads released at once; each result or the exception it raised."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = calls[n]()
        except Exception as exc:  # collected and checked by the caller
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-ecommerce-secret")


@pytest.fixture
def services(table_factory: Factory) -> Services:
    """The shop's services on a fresh table (each service a fixture of its own below)."""
    return Services(table_factory(shop))


@pytest.fixture
def customers(services: Services) -> Customers:
    return services.customers


@pytest.fixture
def catalog(services: Services) -> Catalog:
    return services.catalog


@pytest.fixture
def orders(services: Services) -> Orders:
    return services.orders


@pytest.fixture
def store(services: Services) -> Table:
    """The services' table with one customer and a few products."""
    services.catalog.import_products([product("a"), product("b", price=250), product("c", stock=3)])
    services.customers.register_customer("Ada", "ada@example.com", customer_id="c1", at=T0)
    return services.table


# -- customers ------------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_register_claims_the_email(customers: Customers) -> None:
    ada = customers.register_customer("Ada", " Ada@Example.com ", at=T0)
    assert ada.email == "ada@example.com"
    assert ada.version == 1
    claim = EmailClaim.get(email="ada@example.com", consistent=True)
    assert claim is not None
    assert claim.customer_id == ada.customer_id


@pytest.mark.requires("transactions")
def test_a_duplicate_email_is_refused_and_nothing_is_written(customers: Customers) -> None:
    customers.register_customer("Ada", "ada@example.com", customer_id="c1")
    with pytest.raises(EmailTaken, match=r"ada@example\.com") as err:
        customers.register_customer("Imposter", "ADA@example.com", customer_id="c2")
    assert err.value.email == "ada@example.com"
    with pytest.raises(UnknownCustomer):
        customers.customer_profile("c2")


@pytest.mark.requires("transactions")
def test_concurrent_registrations_of_one_email_leave_one_owner(customers: Customers) -> None:
    results = run_together(
        *(
            functools.partial(
                customers.register_customer,
                f"Ada {n}",
                f"ADA@example.com{' ' * n}",
                customer_id=f"c{n}",
            )
            for n in range(5)
        )
    )
    winners = [r for r in results if isinstance(r, Customer)]
    assert len(winners) == 1, results
    assert sum(isinstance(r, EmailTaken) for r in results) == 4, results
    claim = EmailClaim.get(email="ada@example.com", consistent=True)
    assert claim is not None
    assert claim.customer_id == winners[0].customer_id
    for n in range(5):
        found = Customer.get(customer_id=f"c{n}", consistent=True)
        assert (found is not None) == (f"c{n}" == winners[0].customer_id)


@pytest.mark.requires("transactions")
def test_profile_reads_the_customer_collection(store: Table, customers: Customers) -> None:
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


def test_bulk_import_of_more_than_25_products(catalog: Catalog) -> None:
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


def test_products_by_price_is_cheapest_first(catalog: Catalog) -> None:
    catalog.import_products([product("x", price=900), product("y", price=100), product("z")])
    assert [p.sku for p in catalog.products_by_price("books")] == ["y", "z", "x"]
    assert [p.sku for p in catalog.products_by_price("books", max_price_cents=500)] == ["y", "z"]


# -- placing orders -------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_placing_an_order_writes_everything_in_one_transaction(
    store: Table, customers: Customers, catalog: Catalog, orders: Orders
) -> None:
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
def test_repeating_a_placement_with_the_same_token_is_a_no_op(
    store: Table, customers: Customers, orders: Orders
) -> None:
    first = orders.place_order("c1", {"a": 2}, token="cart-1", at=T0)
    again = orders.place_order("c1", {"a": 2}, token="cart-1", at=T0 + timedelta(minutes=1))
    assert again == first
    assert stored("a").stock == 8
    assert [o.order_id for o in orders.order_history("c1").items] == [first.order_id]
    assert customers.customer_activity("c1").orders_placed == 1


@pytest.mark.requires("transactions")
def test_a_token_replayed_with_other_lines_is_refused(
    store: Table, customers: Customers, orders: Orders
) -> None:
    first = orders.place_order("c1", {"a": 2, "b": 1}, token="cart-1", at=T0)
    for other in ({"a": 3, "b": 1}, {"a": 2}, {"a": 2, "b": 1, "c": 1}, {"c": 3}):
        with pytest.raises(TokenReused, match="other lines") as err:
            orders.place_order("c1", other, token="cart-1")
        assert (err.value.token, err.value.order_id) == ("cart-1", first.order_id)
    assert isinstance(err.value, InvalidOrder)
    # The same lines, given in another form, are the same request.
    lines = [OrderLine("b", 1), OrderLine("a", 1), OrderLine("a", 1)]
    assert orders.place_order("c1", lines, token="cart-1") == first
    assert (stored("a").stock, stored("b").stock, stored("c").stock) == (8, 9, 3)
    assert customers.customer_activity("c1").orders_placed == 1


@pytest.mark.requires("transactions")
def test_concurrent_placements_with_one_token_place_one_order(
    store: Table, customers: Customers, orders: Orders
) -> None:
    place = functools.partial(orders.place_order, "c1", {"c": 3}, token="double-click")
    results = run_together(*[place] * 6)
    assert all(isinstance(r, Order) for r in results), results
    # Even those that found the stock gone get the order.
    assert len({r.order_id for r in results if isinstance(r, Order)}) == 1
    assert stored("c").stock == 0
    assert customers.customer_activity("c1").orders_placed == 1


@pytest.mark.requires("transactions")
def test_a_token_of_another_customer_is_refused(
    store: Table, customers: Customers, orders: Orders
) -> None:
    customers.register_customer("Bob", "bob@example.com", customer_id="c2")
    orders.place_order("c1", {"a": 1}, token="cart-1")
    with pytest.raises(TokenReused, match="another customer"):
        orders.place_order("c2", {"a": 1}, token="cart-1")
    assert stored("a").stock == 9


@pytest.mark.requires("transactions")
def test_out_of_stock_names_the_product_and_writes_nothing(store: Table, orders: Orders) -> None:
    with pytest.raises(OutOfStock, match="'c'") as err:
        orders.place_order("c1", {"a": 1, "c": 4}, token="cart-1")
    assert (err.value.sku, err.value.requested, err.value.available) == ("c", 4, 3)
    assert stored("a").stock == 10
    assert OrderToken.get(token="cart-1", consistent=True) is None
    assert orders.order_history("c1").items == ()


@pytest.mark.requires("transactions", "return_values_on_condition_failure")
def test_stock_sold_between_read_and_commit_is_mapped_to_out_of_stock(
    store: Table, orders: Orders
) -> None:
    """Another buyer takes the stock after the placement read it: the cancellation reason
    (the product as stored) becomes OutOfStock at once, without another attempt."""
    sent: list[str] = []

    def sell_out_meanwhile(attempt: Attempt) -> None:
        sent.append("TransactWriteItems")
        if len(sent) == 1:
            Product.update_by_key(Product.key(sku="c"), Product.stock.set(1))

    with (
        hooked(store, "before-send", sell_out_meanwhile, operation="TransactWriteItems"),
        pytest.raises(OutOfStock, match="'c'") as err,
    ):
        orders.place_order("c1", {"a": 1, "c": 2}, token="cart-2")
    assert (err.value.requested, err.value.available) == (2, 1)
    assert sent == ["TransactWriteItems"]
    assert (stored("a").stock, stored("c").stock) == (10, 1)


@pytest.mark.requires("transactions")
def test_invalid_orders_are_refused_before_any_write(store: Table, orders: Orders) -> None:
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
        orders.place_order("c1", {f"s{i}": 1 for i in range(MAX_LINES + 1)}, token="t3")
    merged = orders.place_order("c1", [OrderLine("a", 1), OrderLine("a", 2)], token="t4")
    assert [(i.sku, i.qty) for i in orders.get_order(merged.order_id).items] == [("a", 3)]
    assert stored("a").stock == 7


@pytest.mark.requires("transactions")
def test_concurrent_orders_never_oversell(
    customers: Customers, catalog: Catalog, orders: Orders
) -> None:
    catalog.import_products([product("hot", stock=12)])
    customers.register_customer("Ada", "ada@example.com", customer_id="c1")
    buyers = 10
    results = run_together(
        *(
            functools.partial(orders.place_order, "c1", {"hot": 2}, token=f"buyer-{n}")
            for n in range(buyers)
        )
    )
    assert sum(isinstance(r, Order) for r in results) == 12 // 2
    assert sum(isinstance(r, OutOfStock) for r in results) == buyers - 6, results
    hot = stored("hot")
    assert (hot.stock, hot.units_sold) == (0, 12)
    placed = orders.order_history("c1", limit=100).items
    assert len(placed) == 6
    assert customers.customer_activity("c1").items_bought == 12


@pytest.mark.requires("transactions")
def test_concurrent_orders_over_several_products_are_all_or_nothing(
    customers: Customers, catalog: Catalog, orders: Orders
) -> None:
    initial = {"hot": 9, "warm": 7}
    catalog.import_products([product(sku, stock=n) for sku, n in initial.items()])
    customers.register_customer("Ada", "ada@example.com", customer_id="c1")
    wants = [{"hot": 2, "warm": 1} if n % 2 else {"warm": 2, "hot": 1} for n in range(10)]
    results = run_together(
        *(
            functools.partial(orders.place_order, "c1", lines, token=f"buyer-{n}")
            for n, lines in enumerate(wants)
        )
    )
    assert all(isinstance(r, Order | OutOfStock) for r in results), results
    sold = dict.fromkeys(initial, 0)
    for lines, result in zip(wants, results, strict=True):
        if isinstance(result, Order):
            items = orders.get_order(result.order_id, consistent=True).items
            assert {i.sku: i.qty for i in items} == lines
            for sku, qty in lines.items():
                sold[sku] += qty
    final = {sku: stored(sku) for sku in initial}
    for sku, n in initial.items():
        assert final[sku].stock >= 0
        assert (final[sku].stock, final[sku].units_sold) == (n - sold[sku], sold[sku])
    for result in results:
        if isinstance(result, OutOfStock):
            # Stock only went down during the run: a refusal stays justified at the end.
            assert result.available < result.requested
            assert final[result.sku].stock < result.requested
    assert len(orders.order_history("c1", limit=100).items) == sum(
        isinstance(r, Order) for r in results
    )


class Conflicts:
    """Answers the first ``times`` ``TransactWriteItems`` as DynamoDB does when another
    transaction is in flight on the same item (local servers serialise transactions and never
    do): cancelled, with ``TransactionConflict`` as the reason of the first action."""

    def __init__(self, table: Table, *, times: int = 1) -> None:
        self.hooks = hooks_for(table.transport.client)
        self.times = times
        self.sent = 0

    def __enter__(self) -> Conflicts:
        self.hooks.register("before-send", self.answer)
        return self

    def __exit__(self, *exc: object) -> None:
        self.hooks.unregister("before-send", self.answer)

    def answer(self, attempt: Attempt) -> Answer | None:
        if attempt.operation != "TransactWriteItems":
            return None
        self.sent += 1
        if self.sent > self.times:
            return None
        actions = attempt.params["TransactItems"]
        reasons = [{"Code": "None"} for _ in actions]
        reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing"}
        message = (
            "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[TransactionConflict]"
        )
        return error_response(
            400,
            "TransactionCanceledException",
            message,
            CancellationReasons=reasons,
        )


@pytest.mark.requires("transactions")
def test_a_transaction_conflict_is_retried_from_a_fresh_read(
    store: Table, customers: Customers, catalog: Catalog, orders: Orders
) -> None:
    with Conflicts(store) as conflict:
        order = orders.place_order("c1", {"a": 2, "b": 1}, token="cart-1")
    assert conflict.sent == 2
    assert (stored("a").stock, stored("b").stock) == (8, 9)
    with Conflicts(store) as conflict:
        orders.cancel_order(order.order_id)
    assert conflict.sent == 2
    assert (stored("a").stock, stored("b").stock) == (10, 10)
    with Conflicts(store) as conflict:
        catalog.write_review("a", "c1", rating=4, title="fine")
    assert conflict.sent == 2
    assert stored("a").rating_count == 1
    with Conflicts(store) as conflict:
        customers.register_customer("Bob", "bob@example.com", customer_id="c2")
    assert conflict.sent == 2
    assert customers.customer_profile("c2").customer.email == "bob@example.com"
    activity = customers.customer_activity("c1")
    assert (activity.orders_placed, activity.orders_cancelled, activity.reviews_written) == (
        1,
        1,
        1,
    )


@pytest.mark.requires("transactions")
def test_services_give_up_with_too_busy_when_every_attempt_loses(store: Table) -> None:
    """The services retry lost races with dynaorm.retry_on_conflict under their contention
    policy, and raise the last TooBusy once its attempts are used up; nothing is written."""
    patient = Services(store, contention=RetryPolicy(max_attempts=3, base_delay=0.001))
    with Conflicts(store, times=100) as conflict, pytest.raises(TooBusy) as busy:
        patient.orders.place_order("c1", {"a": 2}, token="cart-1")
    assert conflict.sent == 3
    assert busy.value.what == "placing order 'cart-1'"
    assert "retry" in str(busy.value)
    assert isinstance(busy.value.__cause__, TransactionCanceled)
    assert stored("a").stock == 10
    assert OrderToken.get(token="cart-1", consistent=True) is None
    with Conflicts(store, times=100) as conflict, pytest.raises(TooBusy, match="reviewing 'a'"):
        patient.catalog.write_review("a", "c1", rating=4, title="fine")
    assert conflict.sent == 3
    assert stored("a").rating_count == 0


def test_services_refuse_a_table_the_shop_entities_are_not_defined_on() -> None:
    other = Table("not-the-shop")
    for service in (Services, Customers, Catalog, Orders):
        with pytest.raises(ValueError, match=r"lacks Customer, Address, .*OrderToken"):
            service(other)


# -- cancelling and shipping ----------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_cancel_restocks_exactly_and_a_second_cancel_is_refused(
    store: Table, customers: Customers, catalog: Catalog, orders: Orders
) -> None:
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
def test_a_cancel_racing_a_ship_lets_exactly_one_win(
    store: Table, customers: Customers, orders: Orders
) -> None:
    rounds = 4
    winners: list[str] = []
    for n in range(rounds):
        order = orders.place_order("c1", {"a": 1, "b": 2}, token=f"race-{n}", at=T0)
        calls: list[Callable[[], object]] = [
            functools.partial(orders.cancel_order, order.order_id),
            functools.partial(orders.ship_order, order.order_id),
        ]
        if n % 2:
            calls.reverse()
        results = run_together(*calls)
        won = [r for r in results if isinstance(r, Order)]
        lost = [r for r in results if isinstance(r, InvalidTransition)]
        assert (len(won), len(lost)) == (1, 1), results
        final = orders.get_order(order.order_id, consistent=True).order
        assert final.status == won[0].status == lost[0].status
        assert lost[0].action == ("ship" if final.status == CANCELLED else "cancel")
        winners.append(final.status)
    shipped = winners.count(SHIPPED)
    a, b = stored("a"), stored("b")
    assert (a.stock, a.units_sold) == (10 - shipped, shipped)
    assert (b.stock, b.units_sold) == (10 - 2 * shipped, 2 * shipped)
    activity = customers.customer_activity("c1")
    assert (activity.orders_placed, activity.orders_cancelled) == (rounds, rounds - shipped)
    assert activity.items_bought == 3 * shipped


@pytest.mark.requires("transactions")
def test_cancels_racing_new_orders_restock_exactly(
    customers: Customers, catalog: Catalog, orders: Orders
) -> None:
    catalog.import_products([product("hot", stock=20), product("mild", stock=50)])
    customers.register_customer("Ada", "ada@example.com", customer_id="c1")
    early = [orders.place_order("c1", {"hot": 2, "mild": 1}, token=f"early-{n}") for n in range(4)]
    assert stored("hot").stock == 12
    # 12 left: the six new orders of 2 fit whether or not a cancel has restocked yet.
    calls: list[Callable[[], object]] = [
        *(lambda o=o: orders.cancel_order(o.order_id) for o in early),
        *(
            lambda n=n: orders.place_order("c1", {"hot": 2, "mild": 3}, token=f"new-{n}")
            for n in range(6)
        ),
    ]
    results = run_together(*calls)
    assert all(isinstance(r, Order) for r in results), results
    assert [r.status for r in results if isinstance(r, Order)] == [CANCELLED] * 4 + [PLACED] * 6
    hot, mild = stored("hot"), stored("mild")
    assert (hot.stock, hot.units_sold) == (20 - 12, 12)
    assert (mild.stock, mild.units_sold) == (50 - 18, 18)
    activity = customers.customer_activity("c1")
    assert (activity.orders_placed, activity.orders_cancelled) == (10, 4)
    assert (activity.items_bought, activity.spent_cents) == (6 * 5, 6 * 5 * 500)
    pair = CoPurchase.get(sku="hot", other_sku="mild", consistent=True)
    assert pair is not None
    assert pair.orders == 6


@pytest.mark.requires("transactions")
def test_shipping_moves_the_order_in_the_status_index(store: Table, orders: Orders) -> None:
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
def test_history_pages_through_cursors_newest_first(store: Table, orders: Orders) -> None:
    placed = [
        orders.place_order("c1", {"b": 1}, token=f"t{n}", at=T0 + timedelta(hours=n)).order_id
        for n in range(7)
    ]
    sizes: list[int] = []
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = orders.order_history("c1", limit=3, cursor=cursor)
        sizes.append(len(page.items))
        seen.extend(o.order_id for o in page.items)
        cursor = page.cursor
        if cursor is None:
            break
        assert len(sizes) < 10, "the cursor does not advance"
    assert seen == list(reversed(placed))
    assert sizes == [3, 3, 1]


@pytest.mark.requires("transactions")
def test_history_cursors_resume_by_key_while_orders_arrive(
    store: Table, customers: Customers, orders: Orders
) -> None:
    """Orders placed between pages neither shift the pages (no gap, no repeat) nor are
    skipped when they sort after the cursor."""
    customers.register_customer("Bob", "bob@example.com", customer_id="c2")
    placed = [
        orders.place_order("c1", {"b": 1}, token=f"t{n}", at=T0 + timedelta(hours=n)).order_id
        for n in range(6)
    ]
    first = orders.order_history("c1", limit=2)
    assert first.cursor is not None
    newer = orders.place_order("c1", {"b": 1}, token="newer", at=T0 + timedelta(days=9))
    older = orders.place_order("c1", {"b": 1}, token="older", at=T0 - timedelta(days=9))
    seen = [o.order_id for o in first.items]
    cursor: str | None = first.cursor
    while cursor is not None:
        page = orders.order_history("c1", limit=2, cursor=cursor)
        seen.extend(o.order_id for o in page.items)
        cursor = page.cursor
    assert seen == [*reversed(placed), older.order_id]
    assert newer.order_id not in seen
    assert len(seen) == len(set(seen))
    # A cursor is bound to its query: another customer's history refuses it.
    with pytest.raises(InvalidCursor):
        orders.order_history("c2", limit=2, cursor=first.cursor)


@pytest.mark.requires("transactions")
def test_orders_by_status_in_a_date_range(store: Table, orders: Orders) -> None:
    placed = [
        orders.place_order("c1", {"b": 1}, token=f"t{n}", at=T0 + timedelta(days=n))
        for n in range(5)
    ]
    orders.ship_order(placed[2].order_id)
    found = orders.orders_by_status(
        PLACED, since=T0 + timedelta(days=1), until=T0 + timedelta(days=3, hours=1)
    )
    assert [o.order_id for o in found] == [placed[3].order_id, placed[1].order_id]
    # Both ends of the range are included, to the microsecond, and pages follow the cursor.
    exact = orders.orders_by_status(PLACED, since=T0, until=T0 + timedelta(days=4), limit=2)
    assert [o.order_id for o in exact] == [placed[4].order_id, placed[3].order_id]
    rest = orders.orders_by_status(
        PLACED, since=T0, until=T0 + timedelta(days=4), limit=2, cursor=exact.cursor
    )
    assert [o.order_id for o in rest] == [placed[1].order_id, placed[0].order_id]
    shipped = orders.orders_by_status(SHIPPED, since=T0, until=T0 + timedelta(days=4))
    assert [o.order_id for o in shipped] == [placed[2].order_id]
    outside = orders.orders_by_status(
        PLACED, since=T0 + timedelta(microseconds=1), until=T0 + timedelta(days=4, microseconds=-1)
    )
    assert [o.order_id for o in outside] == [placed[3].order_id, placed[1].order_id]
    request = orders.status_query(PLACED, T0, T0).compile()
    assert request["IndexName"] == "GSI2"
    assert request["ScanIndexForward"] is False


@pytest.mark.requires("transactions")
def test_reviews_newest_first_and_counted(
    store: Table, customers: Customers, catalog: Catalog
) -> None:
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
    with pytest.raises(UnknownCustomer):
        catalog.write_review("a", "ghost", rating=5, title="?")
    assert stored("a").rating_count == 5
    assert CustomerActivity.get(customer_id="ghost", consistent=True) is None
    with pytest.raises(ValueError, match="1 to 5"):
        catalog.write_review("a", "c1", rating=6, title="!")


@pytest.mark.requires("transactions")
def test_top_products_follow_orders_and_cancellations(
    store: Table, catalog: Catalog, orders: Orders
) -> None:
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
def test_bought_together_ranks_co_purchases(store: Table, catalog: Catalog, orders: Orders) -> None:
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
