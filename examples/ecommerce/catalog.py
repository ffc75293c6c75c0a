"""The catalog: bulk import, browsing, best sellers, reviews and "bought together".

Best sellers come from GSI2 (``CATEGORY#c`` / ``SOLD#<units_sold, zero-padded>#sku``): a
reverse query reads a category's top sellers directly, and orders and cancellations keep the
key in step (see :meth:`examples.ecommerce.orders.Orders.place_order`). Recommendations come
from the product's ``BOUGHT_WITH#`` counters, sorted by count on the client: the counters
change with every order through ``ADD``, which cannot rewrite an index key, and a product's
counter set is bounded by the products actually bought with it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from dynaorm import (
    BatchProgress,
    BatchWriteResult,
    Page,
    Query,
    RetryPolicy,
    Table,
    TransactionCanceled,
    retry_on_conflict,
)
from examples.ecommerce._contention import CONTENTION
from examples.ecommerce.errors import TooBusy, UnknownCustomer, UnknownProduct
from examples.ecommerce.models import (
    CoPurchase,
    Customer,
    CustomerActivity,
    Product,
    Review,
    shop_table,
)

__all__ = ["Catalog", "ProgressCallback"]

ProgressCallback = Callable[[BatchProgress], None]


class Catalog:
    """The catalog services, on the shop's table: import, browsing, best sellers, reviews.

    Args:
        table: The shop's table (:data:`examples.ecommerce.models.shop`, under any name).
        contention: How often, and with what pauses, a review that lost a race to an order of
            the same product is retried.

    Example:
        >>> catalog = Catalog(shop)  # doctest: +SKIP
        >>> catalog.top_products("books", limit=3)  # doctest: +SKIP
    """

    def __init__(self, table: Table, *, contention: RetryPolicy = CONTENTION) -> None:
        self.table = shop_table(table)
        self.contention = contention

    def import_products(
        self,
        products: Iterable[Product],
        *,
        workers: int = 2,
        progress: ProgressCallback | None = None,
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
        with self.table.batch_write(workers=workers, progress=progress) as batch:
            for product in products:
                if product.version is None:
                    product.version = 1
                batch.put(product, unconditional=True)
        return batch.result

    def products_by_price(
        self, category: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        """The cheapest products of a category, cheapest first (GSI1), up to a price."""
        query = Product.by_price.query(category=category)
        if max_price_cents is not None:
            query = query.range(Product.price_cents <= max_price_cents)
        return query.limit(limit).all()

    def top_products_query(self, category: str) -> Query[Product]:
        """A category's products, best sellers first (GSI2, reverse order of ``SOLD#...``)."""
        return Product.best_sellers.query(category=category).reverse()

    def top_products(self, category: str, *, limit: int = 10) -> list[Product]:
        """A category's ``limit`` best sellers, most units sold first (ties: higher sku first)."""
        return self.top_products_query(category).limit(limit).all()

    def best_sellers(self, categories: Iterable[str], *, limit: int = 10) -> list[Product]:
        """The best sellers across categories: the top ``limit`` of each, merged."""
        tops = itertools.chain.from_iterable(self.top_products(c, limit=limit) for c in categories)
        return sorted(tops, key=lambda p: (-int(p.units_sold), p.sku))[:limit]

    def write_review(
        self,
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
                with self.table.transaction() as tx:
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
                    # An order of the product was in flight: try again.
                    raise TooBusy(f"reviewing {sku!r}") from exc
                raise
            return review

        return retry_on_conflict(attempt, policy=self.contention, retry_on=TooBusy)

    def reviews_query(self, sku: str) -> Query[Review]:
        """A product's reviews, newest first (its partition, ``REVIEW#<time>#...`` reversed)."""
        return Review.query(sku=sku).reverse()

    def product_reviews(
        self, sku: str, *, limit: int = 10, cursor: str | None = None
    ) -> Page[Review]:
        """One page of a product's reviews, newest first; ``page.cursor`` continues."""
        return self.reviews_query(sku).limit(limit).after(cursor).page()

    def customer_reviews(self, customer_id: str, *, limit: int = 10) -> list[Review]:
        """A customer's reviews, newest first (GSI1: ``CUSTOMER#id`` / ``REVIEW#<time>#sku``)."""
        return Review.by_customer.query(customer_id=customer_id).reverse().limit(limit).all()

    def bought_together(self, sku: str, *, limit: int = 5) -> list[CoPurchase]:
        """Products most often bought in the same order as ``sku``, most orders first.

        Reads the product's ``BOUGHT_WITH#`` counters (one query) and keeps the ``limit`` with
        the highest counts (ties by sku); counters taken back to zero by cancellations are
        skipped.
        """
        counters = CoPurchase.query(sku=sku).where(CoPurchase.orders > 0)
        return heapq.nsmallest(limit, counters, key=lambda c: (-int(c.orders), c.other_sku))
