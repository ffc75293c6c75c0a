"""Optimistic read-modify-write for the shop: re-read and retry when another writer won.

Orders and cancellations read the products they touch, then write the new stock and sales as
plain values conditioned on each product's version. When another transaction changed one of
those products in between, DynamoDB cancels the transaction (a version conflict, or a
``TransactionConflict`` while the other one is in flight); the whole attempt is then repeated
from a fresh read, after a short randomised pause so that competing buyers spread out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from dynaorm import CancellationReason, RetryPolicy
from examples.ecommerce.errors import TooBusy, UnknownProduct
from examples.ecommerce.models import Product, shop

__all__ = ["CONTENTION", "LostRace", "lost_race", "read_products", "retry_lost_races"]

T = TypeVar("T")

CONTENTION = RetryPolicy(max_attempts=60, base_delay=0.005, cap=0.25)
"""Up to 60 attempts, sleeping at most 5 ms, 10 ms, ... 250 ms (full jitter) in between."""


class LostRace(Exception):
    """Raised inside an attempt: another writer changed what it read; start again."""


def lost_race(reason: CancellationReason) -> bool:
    """True for a cancellation reason that a fresh attempt may not meet again."""
    return reason.version_conflict or reason.code == "TransactionConflict"


def retry_lost_races(what: str, attempt: Callable[[], T], policy: RetryPolicy = CONTENTION) -> T:
    """Call ``attempt`` until it does not raise :class:`LostRace`.

    Raises:
        TooBusy: The policy's attempts ran out.
    """
    delays = policy.delays()
    attempts = 1
    while True:
        try:
            return attempt()
        except LostRace:
            delay = next(delays, None)
            if delay is None:
                raise TooBusy(what, attempts) from None
            time.sleep(delay)
            attempts += 1


def read_products(skus: Iterable[str]) -> dict[str, Product]:
    """The products with these skus, read consistently in one batch.

    Raises:
        UnknownProduct: A sku names no product.
    """
    wanted = list(dict.fromkeys(skus))
    found = shop.batch_get([Product.key(sku=sku) for sku in wanted], consistent=True)
    products: dict[str, Product] = {}
    for sku, product in zip(wanted, found, strict=True):
        if not isinstance(product, Product):
            raise UnknownProduct(sku)
        products[sku] = product
    return products
