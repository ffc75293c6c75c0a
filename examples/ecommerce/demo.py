"""The e-commerce example end to end on the embedded server (``python -m examples.ecommerce``).

Creates the table, imports the catalog, registers customers, runs the transactional services
(orders, idempotent retries, out-of-stock, cancel, ship, reviews), loads an order history,
then runs every read access pattern and shows the compiled requests of a few queries.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table as RichTable

import dynaorm
from dynaorm import Query, Table
from dynaorm.local import LocalDynamoDB
from examples.ecommerce.errors import (
    EmailTaken,
    InvalidTransition,
    OutOfStock,
    TokenReused,
    UnknownProduct,
)
from examples.ecommerce.models import PLACED, SHIPPED, Product, shop
from examples.ecommerce.seed import (
    CATEGORIES,
    Reporter,
    seed_catalog,
    seed_customers,
    seed_history,
)
from examples.ecommerce.services import Services

__all__ = ["main", "run"]


def _money(cents: float) -> str:
    return f"${cents / 100:,.2f}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@contextmanager
def _progress(console: Console) -> Iterator[Reporter]:
    """A rich progress display; yields a ``report(stage, done, total)`` callback."""
    columns = (
        TextColumn("{task.description:>22}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} {task.fields[unit]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                unit = "items read" if stage.startswith("reading") else "items written"
                tasks[stage] = bar.add_task(stage, total=total, unit=unit)
            bar.update(tasks[stage], completed=done, total=total)

        yield report


def _table(title: str, *columns: str) -> RichTable:
    grid = RichTable(title=title, title_justify="left", title_style="bold")
    for column in columns:
        grid.add_column(column)
    return grid


def _show_request(console: Console, title: str, request: dict[str, Any]) -> None:
    """Print a compiled request, one member a line."""
    console.print(f"[bold]{title}[/bold]")
    for member, value in request.items():
        if member not in ("TableName", "ReturnConsumedCapacity"):
            text = json.dumps(value, default=str)
            console.print(f"  [cyan]{member}[/cyan]: {text}", highlight=False, soft_wrap=True)


# -- the transactional tour ---------------------------------------------------------------------


def _stock(sku: str) -> int:
    """The product's stock as stored now."""
    product = Product.get(sku=sku, consistent=True)
    if product is None:
        raise UnknownProduct(sku)
    return int(product.stock)


def _tour(console: Console, services: Services, skus: Sequence[str]) -> str:
    """Run the write services once each; returns the demo customer's id."""
    customers, catalog, orders = services.customers, services.catalog, services.orders
    console.rule("Write services (each a transaction or a conditional update)")
    grace = customers.register_customer("Grace Hopper", "grace@example.com")
    console.print(f"registered {grace.name} as {grace.customer_id} <{grace.email}>")
    try:
        customers.register_customer("Impostor", "GRACE@example.com")
    except EmailTaken as exc:
        console.print(f"[yellow]refused:[/yellow] {exc}")
    home = {"line1": "1 Navy Way", "city": "Arlington", "postcode": "22201", "country": "US"}
    customers.add_address(grace.customer_id, "home", **home)

    first, second, third = skus[:3]
    order = orders.place_order(grace.customer_id, {first: 2, second: 1}, token="cart-demo-1")
    details = orders.get_order(order.order_id)
    lines = ", ".join(f"{i.qty} x {i.name}" for i in details.items)
    console.print(f"placed order {order.order_id}: {lines}, total {_money(order.total_cents)}")
    stock = _stock(first)
    again = orders.place_order(grace.customer_id, {first: 2, second: 1}, token="cart-demo-1")
    console.print(
        f"same token again -> order {again.order_id} (the same one); "
        f"stock of {first} {stock} -> {_stock(first)} (unchanged)"
    )
    try:
        orders.place_order(grace.customer_id, {first: 3}, token="cart-demo-1")
    except TokenReused as exc:
        console.print(f"[yellow]refused:[/yellow] {exc}")
    scarce = _stock(third)
    try:
        orders.place_order(grace.customer_id, {second: 1, third: scarce + 1}, token="cart-demo-2")
    except OutOfStock as exc:
        console.print(f"[yellow]refused:[/yellow] {exc}")

    extra = orders.place_order(grace.customer_id, {second: 1, third: 3}, token="cart-demo-3")
    ordered = _stock(third)
    orders.cancel_order(extra.order_id)
    console.print(
        f"placed and cancelled order {extra.order_id}: stock of {third} {scarce} -> "
        f"{ordered} -> {_stock(third)}"
    )
    try:
        orders.cancel_order(extra.order_id)
    except InvalidTransition as exc:
        console.print(f"[yellow]refused:[/yellow] {exc}")

    since, until = order.placed_at - timedelta(minutes=1), datetime.now(UTC)
    orders.ship_order(order.order_id)
    moved = [o.order_id for o in orders.orders_by_status(SHIPPED, since=since, until=until)]
    still = [o.order_id for o in orders.orders_by_status(PLACED, since=since, until=until)]
    console.print(
        f"shipped order {order.order_id}: in the SHIPPED index partition: "
        f"{order.order_id in moved}; still in PLACED: {order.order_id in still}"
    )
    review = catalog.write_review(first, grace.customer_id, rating=5, title="Works great")
    console.print(f"review of {first} by {grace.name}: {review.rating}* {review.title!r}")
    return grace.customer_id


# -- the read access patterns -------------------------------------------------------------------


def _reads(console: Console, services: Services, demo_customer: str, since: datetime) -> None:
    customers, catalog, orders = services.customers, services.catalog, services.orders
    console.rule("Read access patterns")
    profile = customers.customer_profile("c0001")
    activity = profile.activity
    console.print(
        f"profile of {profile.customer.name} (c0001): "
        f"{', '.join(a.city for a in profile.addresses)}; "
        f"{activity.orders_placed} orders, {activity.orders_cancelled} cancelled, "
        f"{activity.items_bought} items, {_money(activity.spent_cents)} spent, "
        f"{activity.reviews_written} reviews"
    )

    first = orders.order_history("c0001", limit=4)
    second = orders.order_history("c0001", limit=4, cursor=first.cursor)
    columns = ("page", "order", "placed", "status", "total")
    history = _table("Order history of c0001, newest first (2 pages)", *columns)
    for number, page in ((1, first), (2, second)):
        for o in page.items:
            history.add_row(
                str(number), o.order_id, _when(o.placed_at), o.status, _money(o.total_cents)
            )
    console.print(history)

    now = datetime.now(UTC)
    week = orders.orders_by_status(SHIPPED, since=now - timedelta(days=14), until=now, limit=5)
    shipped = _table("Shipped in the last 14 days (newest 5)", "order", "customer", "placed")
    for o in week.items:
        shipped.add_row(o.order_id, o.customer_id, _when(o.placed_at))
    console.print(shipped)
    open_orders = orders.status_query(PLACED, since, now).count()
    console.print(f"orders still to ship: {open_orders}")

    best = _table("Best sellers per category", "category", "sku", "name", "units sold", "stock")
    for category in CATEGORIES[:3]:
        for p in catalog.top_products(category, limit=3):
            best.add_row(category, p.sku, p.name, str(p.units_sold), str(p.stock))
    console.print(best)
    overall = catalog.best_sellers(CATEGORIES, limit=5)
    console.print(
        "best sellers overall: " + ", ".join(f"{p.sku} ({p.units_sold})" for p in overall)
    )

    top = overall[0]
    together = catalog.bought_together(top.sku, limit=5)
    found = services.table.batch_get([Product.key(sku=c.other_sku) for c in together])
    names = {p.sku: p.name for p in found if isinstance(p, Product)}
    recs = _table(f"Bought together with {top.sku} ({top.name})", "sku", "name", "orders")
    for counter in together:
        recs.add_row(counter.other_sku, names.get(counter.other_sku, "?"), str(counter.orders))
    console.print(recs)

    reviews = catalog.product_reviews(top.sku, limit=4)
    average = top.rating_total / top.rating_count if top.rating_count else 0
    title = f"Newest reviews of {top.sku} (average {average:.1f} of {top.rating_count})"
    shown = _table(title, "when", "customer", "rating", "title")
    for r in reviews.items:
        shown.add_row(_when(r.reviewed_at), r.customer_id, "*" * int(r.rating), r.title)
    console.print(shown)

    written = catalog.customer_reviews("c0001", limit=3)
    console.print(
        "c0001's latest reviews: "
        + (", ".join(f"{r.sku} {'*' * int(r.rating)}" for r in written) or "none")
    )
    cheap = catalog.products_by_price("kitchen", max_price_cents=2000, limit=5)
    console.print(
        "kitchen under $20, cheapest first: "
        + ", ".join(f"{p.name} {_money(p.price_cents)}" for p in cheap)
    )
    mine = orders.order_history(demo_customer, limit=10).items
    console.print(
        f"{demo_customer}'s orders: " + ", ".join(f"{o.order_id} {o.status}" for o in mine)
    )

    console.rule("Compiled requests (query.compile())")
    compiled: dict[str, Query[Any]] = {
        "order history, one page (GSI1)": orders.history_query("c0001").limit(4),
        "shipped orders in a date range (GSI2)": orders.status_query(SHIPPED, since, now),
        "best sellers of a category (GSI2)": catalog.top_products_query("books").limit(3),
        "a product's newest reviews (table)": catalog.reviews_query(top.sku).limit(4),
    }
    for title, query in compiled.items():
        _show_request(console, title, query.compile())


def run(
    console: Console,
    table: Table,
    *,
    products: int = 1000,
    customers_count: int = 200,
    orders_count: int = 2000,
    seed: int = 7,
    days: int = 120,
) -> None:
    """Fill the (existing) shop ``table`` and run every access pattern, printing to ``console``.

    The services are made here, on the table given: nothing below reaches for a global one.
    """
    services = Services(table)
    rng = random.Random(seed)
    since = datetime.now(UTC) - timedelta(days=days)
    console.rule(f"Seeding {products} products and {customers_count} customers")
    with _progress(console) as report:
        catalog_items = seed_catalog(table, products, rng=rng, report=report)
        people = seed_customers(table, customers_count, rng=rng, since=since, report=report)
    skus = [p.sku for p in catalog_items]
    demo_customer = _tour(console, services, skus)
    console.rule(f"Loading an order history of {orders_count} orders")
    with _progress(console) as report:
        written = seed_history(
            table,
            orders_count,
            customer_ids=[c.customer_id for c in people],
            skus=skus,
            rng=rng,
            since=since + timedelta(days=7),
            report=report,
        )
    console.print(
        f"{written.orders} orders ({written.by_status}), {written.items} order items, "
        f"{written.reviews} reviews, {written.co_purchase_counters} co-purchase counters"
    )
    _reads(console, services, demo_customer, since)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo on an embedded server; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m examples.ecommerce", description=__doc__)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7, help="random seed of the sample data")
    args = parser.parse_args(argv)
    # Sentences are not hard-wrapped when the output is a file or a pipe, only on a terminal.
    console = Console(soft_wrap=not sys.stdout.isatty())
    started = time.perf_counter()
    with LocalDynamoDB() as server:
        dynaorm.configure(endpoint_url=server.endpoint_url, cursor_secret="ecommerce-demo")
        shop.create()
        console.print(f"table {shop.name!r} on the embedded server at {server.endpoint_url}")
        try:
            run(
                console,
                shop,
                products=args.products,
                customers_count=args.customers,
                orders_count=args.orders,
                seed=args.seed,
            )
        finally:
            shop.delete(missing_ok=True, wait=False)
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    return 0
