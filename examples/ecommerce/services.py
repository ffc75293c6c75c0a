"""The shop's services on one table: built once by the application and passed to what needs them.

The services hold the table they work on instead of reaching for a module-global one, so
the caller decides which physical table and connection they use (the demo the embedded
server's, the tests a fresh table each) and how contended writes are retried.
"""

from __future__ import annotations

from dynaorm import RetryPolicy, Table
from examples.ecommerce._contention import CONTENTION
from examples.ecommerce.catalog import Catalog
from examples.ecommerce.customers import Customers
from examples.ecommerce.orders import Orders

__all__ = ["Services"]


class Services:
    """The customer, catalog and order services on the shop's table.

    Args:
        table: The shop's table (:data:`examples.ecommerce.models.shop`, under any name).
        contention: The retry policy of writes that lose a race to a concurrent one.

    Attributes:
        table: The table.
        customers: Registration, addresses, profiles (:class:`Customers`).
        catalog: Import, browsing, best sellers, reviews (:class:`Catalog`).
        orders: Placing, cancelling, shipping and reading orders (:class:`Orders`).

    Example:
        >>> services = Services(shop)  # doctest: +SKIP
        >>> services.orders.place_order("c1", {"sku-1": 2}, token="cart-42")  # doctest: +SKIP
    """

    def __init__(self, table: Table, *, contention: RetryPolicy = CONTENTION) -> None:
        self.table = table
        self.customers = Customers(table, contention=contention)
        self.catalog = Catalog(table, contention=contention)
        self.orders = Orders(table, contention=contention)
