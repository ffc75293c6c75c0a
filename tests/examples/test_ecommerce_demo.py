"""The e-commerce example's demo, sample data and layout (examples/ecommerce)."""

from __future__ import annotations

import io
import itertools
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from dynaorm import Table
from dynaorm.cli import main as cli
from examples.ecommerce import demo
from examples.ecommerce.models import (
    CANCELLED,
    PLACED,
    SHIPPED,
    CoPurchase,
    CustomerActivity,
    Order,
    OrderItem,
    Product,
    shop,
)
from examples.ecommerce.seed import CATEGORIES, seed_catalog, seed_customers, seed_history
from examples.ecommerce.services import Services

Factory = Callable[[Table], Table]


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-ecommerce-secret")


def assert_consistent(services: Services) -> None:
    """Stock, sales, counters and indexes agree with the orders stored."""
    orders = {o.order_id: o for o in Order.scan()}
    sold: Counter[str] = Counter()
    together: Counter[tuple[str, str]] = Counter()
    placed: Counter[str] = Counter()
    cancelled: Counter[str] = Counter()
    bought: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    by_order: dict[str, list[OrderItem]] = {}
    for item in OrderItem.scan():
        by_order.setdefault(item.order_id, []).append(item)
    for order_id, items in by_order.items():
        order = orders[order_id]
        placed[order.customer_id] += 1
        assert order.item_count == sum(i.qty for i in items)
        assert order.total_cents == sum(i.qty * i.unit_price_cents for i in items)
        if order.status == CANCELLED:
            cancelled[order.customer_id] += 1
            continue
        bought[order.customer_id] += int(order.item_count)
        spent[order.customer_id] += int(order.total_cents)
        for item in items:
            sold[item.sku] += int(item.qty)
        together.update(itertools.permutations(sorted(i.sku for i in items), 2))
    ever = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    for status in (PLACED, SHIPPED, CANCELLED):
        indexed = [o.order_id for o in services.orders.status_query(status, *ever)]
        assert sorted(indexed) == sorted(o for o, x in orders.items() if x.status == status)
    for customer_id in {o.customer_id for o in orders.values()}:
        history = [o.order_id for o in services.orders.history_query(customer_id)]
        assert len(history) == len(set(history))
        assert set(history) == {o for o, x in orders.items() if x.customer_id == customer_id}
    products = list(Product.scan())
    for product in products:
        assert product.stock >= 0
        assert product.units_sold == sold[product.sku], product.sku
    for category in {p.category for p in products}:
        ranked = services.catalog.top_products(category, limit=1000)
        expected = sorted(
            (p for p in products if p.category == category),
            key=lambda p: (-int(p.units_sold), p.sku),
        )
        # Ties in units sold come back in reverse sku order from the index; compare the counts.
        assert [p.units_sold for p in ranked] == [p.units_sold for p in expected]
        assert {p.sku for p in ranked} == {p.sku for p in expected}
    counters = {(c.sku, c.other_sku): c.orders for c in CoPurchase.scan() if c.orders}
    assert counters == dict(together)
    activity = {
        a.customer_id: (a.orders_placed, a.orders_cancelled, a.items_bought, a.spent_cents)
        for a in CustomerActivity.scan()
        if a.orders_placed
    }
    assert activity == {c: (n, cancelled[c], bought[c], spent[c]) for c, n in placed.items()}


def test_schema_command_shows_every_entity_and_template(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = "examples.ecommerce.models:shop"
    args = ["--endpoint", dynamodb_endpoint, "schema", reference, "--format", "markdown"]
    assert cli(args) == 0
    markdown = capsys.readouterr().out
    assert "|---|" in markdown
    assert len(shop.entities) == 10
    for type_name, entity in shop.entities.items():
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {type_name} |"))
        for key in entity.__keys__.values():
            assert f"`{key.pk.source}`" in row
            assert key.sk is not None
            assert f"`{key.sk.source}`" in row


@pytest.mark.requires("transactions")
def test_the_demo_runs_end_to_end_with_small_counts(table_factory: Factory) -> None:
    table = table_factory(shop)
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    demo.run(console, table, products=40, customers_count=8, orders_count=80, seed=3)
    text = out.getvalue()
    for expected in (
        "refused: email 'grace@example.com' is already registered",
        "(the same one)",
        "refused: order token 'cart-demo-1' already placed order",
        "is out of stock",
        "cannot cancel order",
        "in the SHIPPED index partition: True; still in PLACED: False",
        "Order history of c0001",
        "Best sellers per category",
        "Bought together with",
        "Newest reviews of",
        'IndexName: "GSI2"',
        "KeyConditionExpression",
    ):
        assert expected in text, expected
    assert_consistent(Services(table))


@pytest.mark.requires("transactions")
def test_the_history_adds_to_counters_already_stored(table_factory: Factory) -> None:
    table = table_factory(shop)
    services = Services(table)
    customers, orders = services.customers, services.orders
    rng = random.Random(11)
    since = datetime.now(UTC) - timedelta(days=30)
    products = seed_catalog(table, 12, rng=rng)
    people = seed_customers(table, 3, rng=rng, since=since)
    assert {p.category for p in products} <= set(CATEGORIES)
    skus = [p.sku for p in products]
    customers.register_customer("Live", "live@example.com", customer_id="live")
    orders.place_order("live", {skus[0]: 1, skus[1]: 2}, token="live-1")
    stages: list[str] = []
    report = seed_history(
        table,
        40,
        customer_ids=[c.customer_id for c in people],
        skus=skus,
        rng=rng,
        since=since,
        report=lambda stage, done, total: stages.append(stage),
    )
    assert report.orders == sum(report.by_status.values()) == 40
    assert report.items >= 40
    assert {"reading products", "reading counters", "history"} <= set(stages)
    assert customers.customer_activity("live").orders_placed == 1
    assert_consistent(services)
