"""Optimistic read-modify-write for the shop: re-read and retry when another writer won.

Orders and cancellations read the products they touch, then write the new stock and sales as
plain values conditioned on each product's version. When another transaction changed one of
those products in between, DynamoDB cancels the transaction (a version conflict, or a
``TransactionConflict`` while the other one is in flight). The attempt then raises
:class:`~examples.ecommerce.errors.TooBusy`, and :func:`dynaorm.retry_on_conflict` repeats it
from a fresh read, after a short randomised pause so that competing buyers spread out::

    retry_on_conflict(attempt, policy=CONTENTION, retry_on=TooBusy)
"""

from __future__ import annotations

from collections.abc import Iterable

from dynaorm import CancellationReason, RetryPolicy, Table
from examples.ecommerce.errors import UnknownProduct
from examples.ecommerce.models import Product

__all__ = ["CONTENTION", "lost_race", "read_products"]

CONTENTION = RetryPolicy(max_attempts=60, base_delay=0.005, cap=0.25)
"""Up to 60 attempts, sleeping at most 5 ms, 10 ms, ... 250 ms (full jitter) in between."""


def lost_race(reason: CancellationReason) -> bool:
    """True for a cancellation reason that a fresh attempt may not meet again."""
    return reason.version_conflict or reason.code == "TransactionConflict"


def read_products(table: Table, skus: Iterable[str]) -> dict[str, Product]:
    """The products with these skus, read consistently in one batch from ``table``.

    Raises:
        UnknownProduct: A sku names no product.
    """
    wanted = list(dict.fromkeys(skus))
    found = table.batch_get([Product.key(sku=sku) for sku in wanted], consistent=True)
    products: dict[str, Product] = {}
    for sku, product in zip(wanted, found, strict=True):
        if not isinstance(product, Product):
            raise UnknownProduct(sku)
        products[sku] = product
    return products
