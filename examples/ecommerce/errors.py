"""The shop's own errors: what a caller of the services can act on.

::

    ShopError
    ├── EmailTaken            another customer holds the email address
    ├── UnknownProduct        an order names a product that does not exist (LookupError)
    ├── OutOfStock            a line asks for more than the product has in stock
    ├── UnknownCustomer       no customer with that id (LookupError)
    ├── InvalidOrder          an order request without lines, a bad quantity, ... (ValueError)
    │   └── TokenReused       the order token already placed an order with other lines
    ├── OrderNotFound         no order with that id (LookupError)
    ├── InvalidTransition     the order's status does not allow the change (cancel, ship)
    └── TooBusy               other writers kept winning the race (retried, then raised)

Library errors (:class:`dynaorm.ValidationError` for bad keys, ...) pass through unchanged.
"""

from __future__ import annotations

__all__ = [
    "EmailTaken",
    "InvalidOrder",
    "InvalidTransition",
    "OrderNotFound",
    "OutOfStock",
    "ShopError",
    "TokenReused",
    "TooBusy",
    "UnknownCustomer",
    "UnknownProduct",
]


class ShopError(Exception):
    """Base class of the e-commerce example's errors."""


class EmailTaken(ShopError):
    """The email address belongs to another customer.

    Attributes:
        email: The (normalised) address.
    """

    def __init__(self, email: str) -> None:
        super().__init__(f"email {email!r} is already registered; sign in or use another address")
        self.email = email


class UnknownProduct(ShopError, LookupError):
    """An order line names a product that does not exist.

    Attributes:
        sku: The product's sku.
    """

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with sku {sku!r}")
        self.sku = sku


class OutOfStock(ShopError):
    """A line asks for more units than the product has; nothing was written.

    Attributes:
        sku: The product's sku.
        requested: Units the line asked for.
        available: Units in stock when the order was refused.
    """

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(
            f"product {sku!r} is out of stock: {requested} requested, {available} available"
        )
        self.sku = sku
        self.requested = requested
        self.available = available


class OrderNotFound(ShopError, LookupError):
    """No order has this id.

    Attributes:
        order_id: The id looked for.
    """

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order with id {order_id!r}")
        self.order_id = order_id


class InvalidTransition(ShopError):
    """The order's current status does not allow the requested change.

    Attributes:
        order_id: The order.
        status: Its current status.
        action: What was asked (``"cancel"``, ``"ship"``).
    """

    def __init__(self, order_id: str, status: str, action: str) -> None:
        super().__init__(f"cannot {action} order {order_id!r}: it is {status}")
        self.order_id = order_id
        self.status = status
        self.action = action


class TooBusy(ShopError):
    """Another writer changed what the operation read before it could commit (retry later).

    An optimistic read-modify-write raises it from the attempt that lost the race, and the
    services retry it with :func:`dynaorm.retry_on_conflict` (``retry_on=TooBusy``), as
    dynaorm retries its own :class:`~dynaorm.VersionConflict`: a fresh read, another attempt
    after a jittered pause. The caller sees the last one once the attempts have run out.

    Attributes:
        what: The operation, e.g. ``"placing order 'cart-1'"``.
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: other writers kept changing the same items first; retry")
        self.what = what


class InvalidOrder(ShopError, ValueError):
    """The order request itself is wrong (no lines, a bad quantity, too many lines)."""


class TokenReused(InvalidOrder):
    """The order token already placed an order, with other lines or for another customer.

    A token identifies one placement request: repeating the request returns its order, but a
    different request under the same token is refused rather than answered with an order
    that is not what was asked for.

    Attributes:
        token: The token.
        order_id: The order it placed.
    """

    def __init__(self, token: str, order_id: str, why: str) -> None:
        super().__init__(
            f"order token {token!r} already placed order {order_id!r} {why}; "
            "use a new token for a new order"
        )
        self.token = token
        self.order_id = order_id


class UnknownCustomer(ShopError, LookupError):
    """No customer has this id.

    Attributes:
        customer_id: The id looked for.
    """

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"no customer with id {customer_id!r}")
        self.customer_id = customer_id
