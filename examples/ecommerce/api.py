"""The shop's catalog as an HTTP API: FastAPI over dynaorm's async API.

``create_app(table)`` builds the app on the table it is given (the shop's table under any
name: the tests give it a fresh one), through :class:`AsyncCatalog`, a small service whose
every call is awaited (``Product.aget``, ``product.asave``, ``product.aupdate``,
``Product.aupdate_by_key``, ``query.apage``), so a request never blocks the event loop
waiting for DynamoDB. Routes::

    POST   /products                          create (201; 409 when the sku exists)
    GET    /products/{sku}                    one product (404 when there is none)
    PATCH  /products/{sku}                    change name, price or stock under the version
                                              the client read (409 when it is stale)
    POST   /products/{sku}/reservations       take stock, never below zero (409: too little)
    GET    /categories/{category}/products    a page by price; ?limit=&cursor= for the next

dynaorm's errors become HTTP statuses in one place (:func:`install_error_handlers`):

    ========================================  ======  ====================================
    error                                     status  why
    ========================================  ======  ====================================
    ``UnknownProduct`` (the shop's, not found)  404   no such product
    ``VersionConflict``                         409   written since the client read it
    ``ConditionFailed`` (``OutOfStock``, ...)   409   the guarded write was refused
    ``ValidationError``                         422   refused before any request was sent
    ``InvalidCursor``                           400   a tampered or foreign cursor
    ``Throttled``, ``EndpointUnavailable``      503   retried in vain; try again later
    ========================================  ======  ====================================

Serve it with any ASGI server, e.g. ``uvicorn --factory`` on a function that calls
``create_app(shop)`` after configuring the endpoint; ``tests/examples/test_ecommerce_api.py``
runs it through ``httpx.AsyncClient`` against the embedded server.
"""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from dynaorm import (
    ConditionFailed,
    EndpointUnavailable,
    InvalidCursor,
    Page,
    Table,
    Throttled,
    ValidationError,
    VersionConflict,
)
from dynaorm.pydantic import model_for, to_model
from examples.ecommerce.errors import OutOfStock, UnknownProduct
from examples.ecommerce.models import Product, shop_table

__all__ = ["AsyncCatalog", "ProductChange", "ProductIn", "create_app", "install_error_handlers"]

# What a response carries: the product as dynaorm.pydantic models it (its to_dict() form).
ProductOut: Any = model_for(Product)


class ProductIn(pydantic.BaseModel):
    """The body of ``POST /products``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    sku: str = pydantic.Field(min_length=1, max_length=64)
    name: str = pydantic.Field(min_length=1)
    category: str = pydantic.Field(min_length=1)
    price_cents: int = pydantic.Field(ge=0)
    stock: int = pydantic.Field(ge=0)


class ProductChange(pydantic.BaseModel):
    """The body of ``PATCH /products/{sku}``: the version the client read, and what to set."""

    model_config = pydantic.ConfigDict(extra="forbid")

    version: int = pydantic.Field(ge=1)
    name: str | None = pydantic.Field(default=None, min_length=1)
    price_cents: int | None = pydantic.Field(default=None, ge=0)
    stock: int | None = pydantic.Field(default=None, ge=0)


class Reservation(pydantic.BaseModel):
    """The body of ``POST /products/{sku}/reservations``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    quantity: int = pydantic.Field(ge=1)


class ProductPage(pydantic.BaseModel):
    """A page of products and the cursor of the next one (``None``: the last page)."""

    items: list[ProductOut]
    cursor: str | None


class AsyncCatalog:
    """The catalog's calls, each awaited, on the shop's table.

    Args:
        table: The shop's table (:data:`examples.ecommerce.models.shop`, under any name).

    Example:
        >>> catalog = AsyncCatalog(shop)  # doctest: +SKIP
        >>> await catalog.product("sku-1")  # doctest: +SKIP
    """

    def __init__(self, table: Table) -> None:
        self.table = shop_table(table)

    async def create(self, new: ProductIn) -> Product:
        """Store a new product.

        Raises:
            ConditionFailed: A product with that sku exists already.
        """
        product = Product(**new.model_dump())
        await product.asave(condition=Product.sku.does_not_exist())
        return product

    async def product(self, sku: str) -> Product:
        """The product ``sku``.

        Raises:
            UnknownProduct: There is none.
        """
        found = await Product.aget(sku=sku, consistent=True)
        if found is None:
            raise UnknownProduct(sku)
        return found

    async def change(self, sku: str, change: ProductChange) -> Product:
        """Set the fields ``change`` gives, if the product is still at ``change.version``.

        A price change rewrites the product's by-price index key in the same request.

        Raises:
            UnknownProduct: There is no such product.
            VersionConflict: It was written since the client read ``change.version``.
        """
        product = await self.product(sku)
        product.version = change.version  # the write is conditional on the client's version
        fields = change.model_dump(exclude={"version"}, exclude_none=True)
        actions = [getattr(Product, name).set(value) for name, value in fields.items()]
        if actions:
            await product.aupdate(*actions)
        return product

    async def reserve(self, sku: str, quantity: int) -> Product:
        """Take ``quantity`` from the stock in one conditional update: concurrent
        reservations can never take more than there is.

        Raises:
            UnknownProduct: There is no such product.
            OutOfStock: Less than ``quantity`` is left.
        """
        try:
            updated: Product = await Product.aupdate_by_key(
                Product.key(sku=sku),
                Product.stock.add(-quantity),
                condition=Product.sku.exists() & (Product.stock >= quantity),
            )
        except ConditionFailed as refused:
            left = await self.product(sku)  # UnknownProduct when it is missing
            raise OutOfStock(sku, quantity, left.stock) from refused
        return updated

    async def by_price(self, category: str, limit: int, cursor: str | None) -> Page[Product]:
        """One page of a category's products, cheapest first.

        Raises:
            InvalidCursor: ``cursor`` is not one this table's reads handed out.
        """
        return await Product.by_price.query(category=category).limit(limit).apage(cursor)


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer dynaorm's errors (and the shop's) with the statuses of the module docs."""

    @app.exception_handler(UnknownProduct)
    async def not_found(request: Request, exc: UnknownProduct) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(OutOfStock)
    async def out_of_stock(request: Request, exc: OutOfStock) -> JSONResponse:
        return _error(409, str(exc), available=exc.available)

    @app.exception_handler(VersionConflict)
    async def conflict(request: Request, exc: VersionConflict) -> JSONResponse:
        current = getattr(exc.item, "version", None)
        return _error(409, "changed since it was read", current_version=current)

    @app.exception_handler(ConditionFailed)
    async def refused(request: Request, exc: ConditionFailed) -> JSONResponse:
        return _error(409, "refused: the item is not in the state the request expects")

    @app.exception_handler(ValidationError)
    async def invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(InvalidCursor)
    async def bad_cursor(request: Request, exc: InvalidCursor) -> JSONResponse:
        return _error(400, "invalid cursor")

    @app.exception_handler(Throttled)
    async def throttled(request: Request, exc: Throttled) -> JSONResponse:
        return _error(503, "the database is busy")

    @app.exception_handler(EndpointUnavailable)
    async def unavailable(request: Request, exc: EndpointUnavailable) -> JSONResponse:
        return _error(503, "the database could not be reached")


def create_app(table: Table) -> FastAPI:
    """The catalog API on ``table`` (the shop's table, under whatever name it has)."""
    catalog = AsyncCatalog(table)
    app = FastAPI(title="Shop catalog")
    app.state.catalog = catalog
    install_error_handlers(app)

    @app.post("/products", status_code=201, response_model=ProductOut)
    async def create_product(body: ProductIn) -> Any:
        return to_model(await catalog.create(body))

    @app.get("/products/{sku}", response_model=ProductOut)
    async def get_product(sku: str) -> Any:
        return to_model(await catalog.product(sku))

    @app.patch("/products/{sku}", response_model=ProductOut)
    async def change_product(sku: str, body: ProductChange) -> Any:
        return to_model(await catalog.change(sku, body))

    @app.post("/products/{sku}/reservations", status_code=201, response_model=ProductOut)
    async def reserve(sku: str, body: Reservation) -> Any:
        return to_model(await catalog.reserve(sku, body.quantity))

    @app.get("/categories/{category}/products", response_model=ProductPage)
    async def list_products(
        category: str,
        limit: int = Query(default=10, ge=1, le=100),
        cursor: str | None = None,
    ) -> Any:
        page = await catalog.by_price(category, limit, cursor)
        return ProductPage(items=[to_model(p) for p in page], cursor=page.cursor)

    return app
