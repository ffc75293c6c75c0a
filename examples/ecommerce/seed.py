"""Sample data: a catalog, customers and an order history, written in bulk.

The catalog goes in through :meth:`~examples.ecommerce.catalog.Catalog.import_products`. The order
history is simulated in memory with the same rules as the services (stock never below zero,
units sold, activity and co-purchase counters, cancellations taken back) and then written
with batch writes, merged into whatever counters are already stored. Loading thousands of
historic orders through one transaction each would be slow on the embedded server, whose
transactions copy the whole table to be able to roll back; on DynamoDB you could place them
through :meth:`~examples.ecommerce.orders.Orders.place_order` instead. Run seeding while nothing
else writes to the table. Every function takes the table it writes to.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from dynaorm import BatchProgress, Entity, ItemKey, Table, UnknownItem
from examples.ecommerce.catalog import Catalog
from examples.ecommerce.models import (
    CANCELLED,
    PLACED,
    SHIPPED,
    Address,
    CoPurchase,
    Customer,
    CustomerActivity,
    EmailClaim,
    Order,
    OrderItem,
    OrderToken,
    Product,
    Review,
    shop_table,
)

__all__ = [
    "CATEGORIES",
    "HistoryReport",
    "Reporter",
    "make_customers",
    "make_products",
    "seed_catalog",
    "seed_customers",
    "seed_history",
]

CATEGORIES = ("books", "music", "games", "garden", "kitchen", "toys", "sports", "beauty")

Reporter = Callable[[str, int, int], None]
"""Called as ``report(stage, done, total)`` while seeding, e.g. to drive a progress bar."""

_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Handmade", "Smart", "Travel", "Vintage")
_NOUNS = {
    "books": ("Novel", "Cookbook", "Atlas", "Memoir"),
    "music": ("Vinyl", "Headphones", "Ukulele", "Songbook"),
    "games": ("Board Game", "Puzzle", "Card Deck", "Controller"),
    "garden": ("Trowel", "Planter", "Hose", "Seed Kit"),
    "kitchen": ("Kettle", "Knife", "Skillet", "Teapot"),
    "toys": ("Robot", "Kite", "Train Set", "Plush Bear"),
    "sports": ("Yoga Mat", "Racket", "Water Bottle", "Jump Rope"),
    "beauty": ("Soap", "Lotion", "Brush", "Perfume"),
}
_NAMES = ("Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Hedy")
_CITIES = ("Oslo", "Lyon", "Porto", "Graz", "Turku", "Gent", "Cork", "Bern")
_TITLES = {1: "Disappointing", 2: "Not great", 3: "Fine", 4: "Very good", 5: "Excellent"}


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def _write_all(
    table: Table, stage: str, entities: Sequence[Entity], report: Reporter, *, workers: int = 2
) -> None:
    total = len(entities)
    report(stage, 0, total)

    def progress(p: BatchProgress) -> None:
        report(stage, p.done, total)

    with table.batch_write(workers=workers, progress=progress) as batch:
        for entity in entities:
            batch.put(entity, unconditional=True)
    report(stage, total, total)


# -- catalog and customers --------------------------------------------------------------------


def make_products(count: int, rng: random.Random) -> list[Product]:
    """``count`` products spread over :data:`CATEGORIES`, skus ``sku-00000``, ... ."""
    products = []
    for n in range(count):
        category = CATEGORIES[n % len(CATEGORIES)]
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS[category])}"
        products.append(
            Product(
                sku=f"sku-{n:05d}",
                name=name,
                category=category,
                price_cents=rng.randrange(199, 12_000, 10) - 1,
                stock=rng.randrange(60, 400),
            )
        )
    return products


def seed_catalog(
    table: Table, count: int, *, rng: random.Random, report: Reporter = _quiet
) -> list[Product]:
    """Import ``count`` generated products into ``table`` with the bulk import service."""
    products = make_products(count, rng)
    report("products", 0, count)
    Catalog(table).import_products(products, progress=lambda p: report("products", p.done, count))
    return products


def make_customers(count: int, rng: random.Random, *, since: datetime) -> list[Customer]:
    """``count`` customers ``c0000``, ... with unique emails, joined after ``since``."""
    span = (datetime.now(UTC) - since).total_seconds()
    return [
        Customer(
            customer_id=f"c{n:04d}",
            name=f"{rng.choice(_NAMES)} {n}",
            email=f"customer{n}@example.com",
            joined_at=since + timedelta(seconds=rng.uniform(0, span / 4)),
            version=1,
        )
        for n in range(count)
    ]


def seed_customers(
    table: Table, count: int, *, rng: random.Random, since: datetime, report: Reporter = _quiet
) -> list[Customer]:
    """Write ``count`` customers with their email claims and one or two addresses each."""
    shop_table(table)
    customers = make_customers(count, rng, since=since)
    entities: list[Entity] = []
    for customer in customers:
        entities.append(customer)
        entities.append(EmailClaim(email=customer.email, customer_id=customer.customer_id))
        for label in ("home", "work")[: rng.randint(1, 2)]:
            entities.append(
                Address(
                    customer_id=customer.customer_id,
                    label=label,
                    line1=f"{rng.randint(1, 200)} {rng.choice(_NAMES)} Street",
                    city=rng.choice(_CITIES),
                    postcode=f"{rng.randint(1000, 9999)}",
                    country="EU",
                )
            )
    _write_all(table, "customer records", entities, report)
    return customers


# -- order history ----------------------------------------------------------------------------


@attrs.frozen
class HistoryReport:
    """What :func:`seed_history` wrote."""

    orders: int
    items: int
    reviews: int
    co_purchase_counters: int
    by_status: dict[str, int]


@attrs.define
class _History:
    """The simulated history, built in memory before anything is written."""

    products: dict[str, Product]
    activity: dict[str, CustomerActivity]
    writes: list[Entity] = attrs.Factory(list)
    pairs: Counter[tuple[str, str]] = attrs.Factory(Counter)
    statuses: Counter[str] = attrs.Factory(Counter)
    items: int = 0
    reviews: int = 0

    def counter(self, customer_id: str) -> CustomerActivity:
        """The customer's simulated activity counters, created at zero on first use."""
        if customer_id not in self.activity:
            self.activity[customer_id] = CustomerActivity(customer_id=customer_id)
        return self.activity[customer_id]


def _pick_lines(
    rng: random.Random, skus: Sequence[str], weights: Sequence[float], products: dict[str, Product]
) -> dict[str, int]:
    wanted = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
    lines: dict[str, int] = {}
    for sku in rng.choices(skus, weights=weights, k=wanted):
        qty = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        if sku not in lines and products[sku].stock >= qty:
            lines[sku] = qty
    return lines


def _status(placed_at: datetime, recent: datetime, rng: random.Random) -> str:
    """Recent orders are still placed; older ones were shipped, or cancelled (one in ten)."""
    if placed_at >= recent:
        return PLACED
    return CANCELLED if rng.random() < 0.1 else SHIPPED


def _one_order(
    history: _History,
    n: int,
    customer_id: str,
    lines: dict[str, int],
    placed_at: datetime,
    status: str,
    rng: random.Random,
    now: datetime,
) -> None:
    products = history.products
    order_id = f"h{n:05d}"
    order = Order.priced(
        order_id,
        customer_id,
        lines,
        products,
        placed_at=placed_at,
        token=f"seed-{order_id}",
        status=status,
    )
    order.version = 1 if status == PLACED else 2
    total = int(order.total_cents)
    later = min(now, placed_at + timedelta(hours=rng.uniform(2, 72)))
    if status == SHIPPED:
        order.shipped_at = later
    elif status == CANCELLED:
        order.cancelled_at = later
    history.writes.append(order)
    history.writes.append(OrderToken(token=order.token, customer_id=customer_id, order_id=order_id))
    activity = history.counter(customer_id)
    activity.orders_placed += 1
    for sku, qty in lines.items():
        history.writes.append(OrderItem.of(order_id, products[sku], qty))
        history.items += 1
    if status == CANCELLED:  # placed and taken back: nothing sold, nothing counted
        activity.orders_cancelled += 1
        return
    activity.items_bought += sum(lines.values())
    activity.spent_cents += total
    for sku, qty in lines.items():
        products[sku].stock -= qty
        products[sku].units_sold += qty
    for pair in itertools.permutations(sorted(lines), 2):
        history.pairs[pair] += 1
    if status == SHIPPED:
        for sku in lines:
            if rng.random() < 0.2:
                _review(history, sku, customer_id, later, rng, now)


def _review(
    history: _History,
    sku: str,
    customer_id: str,
    after: datetime,
    rng: random.Random,
    now: datetime,
) -> None:
    rating = rng.choices((1, 2, 3, 4, 5), weights=(5, 7, 15, 35, 38))[0]
    at = min(now, after + timedelta(days=rng.uniform(1, 14)))
    history.writes.append(
        Review(
            sku=sku,
            customer_id=customer_id,
            rating=rating,
            title=_TITLES[rating],
            body=None,
            reviewed_at=at,
        )
    )
    history.products[sku].rating_count += 1
    history.products[sku].rating_total += rating
    history.counter(customer_id).reviews_written += 1
    history.reviews += 1


def _read_all(
    table: Table, keys: Sequence[ItemKey], report: Reporter, stage: str
) -> list[Entity | UnknownItem | None]:
    total = len(keys)
    return table.batch_get(
        keys,
        consistent=True,
        workers=2,
        progress=lambda p: report(stage, p.done, total),
    )


def seed_history(
    table: Table,
    count: int,
    *,
    customer_ids: Sequence[str],
    skus: Sequence[str],
    rng: random.Random,
    since: datetime,
    until: datetime | None = None,
    report: Reporter = _quiet,
) -> HistoryReport:
    """Simulate ``count`` orders placed between ``since`` and ``until`` and write them in bulk.

    Orders older than three days are mostly shipped (about one in ten cancelled), newer ones
    still placed. Popular products sell more (a skewed choice), a line is left out when its
    product lacks the stock, and about one in five shipped lines gets a review. The products,
    activity and co-purchase counters already stored are read first and the history added
    to them, so it combines with orders placed through the services before.

    Args:
        table: The shop's table.
        count: Orders to simulate.
        customer_ids: Who orders (customers that exist).
        skus: What they may order (products that exist).
        rng: The source of randomness (seed it for a repeatable history).
        since: The first order's time.
        until: The last order's time (default: now).
        report: Progress callback ``report(stage, done, total)``.

    Returns:
        What was written.
    """
    shop_table(table)
    now = until or datetime.now(UTC)
    stored = _read_all(table, [Product.key(sku=s) for s in skus], report, "reading products")
    products = {p.sku: p for p in stored if isinstance(p, Product)}
    names = list(products)
    rng.shuffle(names)
    weights = [1.0 / (rank + 1) ** 0.7 for rank in range(len(names))]
    history = _History(products=products, activity={})
    step = (now - since) / max(count, 1)
    recent = now - timedelta(days=3)
    for n in range(count):
        lines: dict[str, int] = {}
        tries = 0
        while not lines and tries < 20:  # when popular products run out, choose again
            lines = _pick_lines(rng, names, weights, products)
            tries += 1
        if not lines:
            continue
        placed_at = since + step * n + timedelta(seconds=rng.uniform(0, step.total_seconds()))
        placed_at = min(placed_at, now)
        status = _status(placed_at, recent, rng)
        history.statuses[status] += 1
        _one_order(history, n, rng.choice(customer_ids), lines, placed_at, status, rng, now)
    _merge_counters(table, history, report)
    for product in products.values():
        product.version = (product.version or 0) + 1
    entities = [*products.values(), *history.activity.values(), *history.writes]
    entities.extend(CoPurchase(sku=a, other_sku=b, orders=n) for (a, b), n in history.pairs.items())
    _write_all(table, "history", entities, report)
    return HistoryReport(
        orders=sum(history.statuses.values()),
        items=history.items,
        reviews=history.reviews,
        co_purchase_counters=len(history.pairs),
        by_status=dict(history.statuses),
    )


def _merge_counters(table: Table, history: _History, report: Reporter) -> None:
    """Add the counters already stored (orders placed through the services) to the history's."""
    customers = sorted(history.activity)
    found = _read_all(
        table, [CustomerActivity.key(customer_id=c) for c in customers], report, "reading counters"
    )
    for stored in found:
        if isinstance(stored, CustomerActivity):
            mine = history.activity[stored.customer_id]
            for name in _COUNTERS:
                setattr(mine, name, getattr(mine, name) + getattr(stored, name))
    pairs = sorted(history.pairs)
    found = _read_all(
        table,
        [CoPurchase.key(sku=a, other_sku=b) for a, b in pairs],
        report,
        "reading co-purchases",
    )
    for stored in found:
        if isinstance(stored, CoPurchase):
            history.pairs[(stored.sku, stored.other_sku)] += int(stored.orders)


_COUNTERS = ("orders_placed", "orders_cancelled", "items_bought", "spent_cents", "reviews_written")
