"""The catalog: bulk import, browsing, best sellers, reviews and "bought together".

Best sellers come from GSI2 (``CATEGORY#c`` / ``SOLD#<units_sold, zero-padded>#sku``): a
reverse query reads a category's top sellers directly, and orders and cancellations keep the
key in step (see :func:`examples.ecommerce.orders.place_order`). Recommendations come from the
product's ``BOUGHT_WITH#`` counters, sorted by count on the client: the counters change with
every order through ``ADD``, which cannot rewrite an index key, and a product's counter set is
bounded by the products actually bought with it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from dynaorm import BatchProgress, BatchWriteResult, Page, Query, TransactionCanceled
from examples.ecommerce._contention import LostRace, retry_lost_races
from examples.ecommerce.errors import UnknownCustomer, UnknownProduct
from examples.ecommerce.models import (
    CoPurchase,
    Customer,
    CustomerActivity,
    Product,
    Review,
    shop,
)

__all__ = [
    "best_sellers",
    "bought_together",
    "customer_reviews",
    "import_products",
    "product_reviews",
    "products_by_price",
    "reviews_query",
    "top_products",
    "top_products_query",
    "write_review",
]

ProgressCallback = Callable[[BatchProgress], None]


def import_products(
    products: Iterable[Product], *, workers: int = 2, progress: ProgressCallback | None = None
) -> BatchWriteResult:
    """Write products in ``BatchWriteItem`` requests of 25, retrying unprocessed items.

    Products are versioned, so the batch writes them ``unconditional``: an import replaces
    whatever is stored. Each product is written as version 1 unless it already holds one.

    Args:
        products: The products to write.
        workers: Requests in flight at once.
        progress: Called after every request with a :class:`dynaorm.BatchProgress`
            (e.g. to drive a progress bar); ``None`` for a quiet import.

    Returns:
        What the batch did (``.puts``, ``.requests``, ``.retries``).

    Raises:
        dynaorm.BatchIncomplete: Items were still unprocessed after the retry policy.
    """
    with shop.batch_write(workers=workers, progress=progress) as batch:
        for product in products:
            if product.version is None:
                product.version = 1
            batch.put(product, unconditional=True)
    return batch.result


def products_by_price(
    category: str, *, max_price_cents: int | None = None, limit: int = 10
) -> list[Product]:
    """The cheapest products of a category, cheapest first (GSI1), up to a price."""
    query = Product.by_price.query(category=category)
    if max_price_cents is not None:
        query = query.range(Product.price_cents <= max_price_cents)
    return query.limit(limit).all()


def top_products_query(category: str) -> Query[Product]:
    """A category's products, best sellers first (GSI2, reverse order of ``SOLD#...``)."""
    return Product.best_sellers.query(category=category).reverse()


def top_products(category: str, *, limit: int = 10) -> list[Product]:
    """A category's ``limit`` best sellers, most units sold first (ties: higher sku first)."""
    return top_products_query(category).limit(limit).all()


def best_sellers(categories: Iterable[str], *, limit: int = 10) -> list[Product]:
    """The best sellers across categories: the top ``limit`` of each, merged."""
    tops = itertools.chain.from_iterable(top_products(c, limit=limit) for c in categories)
    return sorted(tops, key=lambda p: (-int(p.units_sold), p.sku))[:limit]


def write_review(
    sku: str,
    customer_id: str,
    *,
    rating: int,
    title: str,
    body: str | None = None,
    at: datetime | None = None,
) -> Review:
    """Add a review, and count it on the product and the customer, in one transaction.

    Raises:
        UnknownProduct: No product has ``sku``.
        UnknownCustomer: No customer has ``customer_id``.
        ValueError: ``rating`` is not 1 to 5.
        TooBusy: Concurrent orders of the product kept conflicting with the review.
    """
    if isinstance(rating, bool) or rating not in range(1, 6):
        raise ValueError(f"a rating is 1 to 5, got {rating!r}")
    review = Review(
        sku=sku,
        customer_id=customer_id,
        rating=rating,
        title=title,
        body=body,
        reviewed_at=at or datetime.now(UTC),
    )

    def attempt() -> Review:
        try:
            with shop.transaction() as tx:
                tx.put(review, condition=Review.rating.does_not_exist())
                tx.update(
                    Product.key(sku=sku),
                    Product.rating_count.add(1),
                    Product.rating_total.add(rating),
                    condition=Product.name.exists(),
                )
                tx.check(Customer.key(customer_id=customer_id), Customer.name.exists())
                tx.update(
                    CustomerActivity.key(customer_id=customer_id),
                    CustomerActivity.reviews_written.add(1),
                )
        except TransactionCanceled as exc:
            failed = {r.key.entity for r in exc.reasons if r.code == "ConditionalCheckFailed"}
            if Product in failed:
                raise UnknownProduct(sku) from exc
            if Customer in failed:
                raise UnknownCustomer(customer_id) from exc
            if any(r.code == "TransactionConflict" for r in exc.reasons):
                raise LostRace from exc  # an order of the product was in flight: try again
            raise
        return review

    return retry_lost_races(f"reviewing {sku!r}", attempt)


def reviews_query(sku: str) -> Query[Review]:
    """A product's reviews, newest first (its partition, ``REVIEW#<time>#...`` reversed)."""
    return Review.query(sku=sku).reverse()


def product_reviews(sku: str, *, limit: int = 10, cursor: str | None = None) -> Page[Review]:
    """One page of a product's reviews, newest first; ``page.cursor`` continues."""
    return reviews_query(sku).limit(limit).after(cursor).page()


def customer_reviews(customer_id: str, *, limit: int = 10) -> list[Review]:
    """A customer's reviews, newest first (GSI1: ``CUSTOMER#id`` / ``REVIEW#<time>#sku``)."""
    return Review.by_customer.query(customer_id=customer_id).reverse().limit(limit).all()


def bought_together(sku: str, *, limit: int = 5) -> list[CoPurchase]:
    """Products most often bought in the same order as ``sku``, most orders first.

    Reads the product's ``BOUGHT_WITH#`` counters (one query) and keeps the ``limit`` with
    the highest counts (ties by sku); counters taken back to zero by cancellations are skipped.
    """
    counters = CoPurchase.query(sku=sku).where(CoPurchase.orders > 0)
    return heapq.nsmallest(limit, counters, key=lambda c: (-int(c.orders), c.other_sku))
