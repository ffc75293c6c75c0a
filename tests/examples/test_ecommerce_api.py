"""The FastAPI catalog (examples/ecommerce/api.py) through ``httpx.AsyncClient`` on the ASGI app,
against the test server: routes, cursors, optimistic versions, the oversell race, and
dynaorm's errors as HTTP statuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from support import requests_sent

from dynaorm import RetryPolicy, Table
from dynaorm.testing import FaultInjectorFactory
from examples.ecommerce.api import AsyncCatalog, create_app
from examples.ecommerce.models import Product, shop

pytestmark = pytest.mark.anyio

Factory = Callable[[Table], Table]


def product(sku: str, *, price: int = 500, stock: int = 10, category: str = "books") -> Any:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "category": category,
        "price_cents": price,
        "stock": stock,
    }


@pytest.fixture
async def client(table_factory: Factory) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(table_factory(shop))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
        yield http


async def test_create_get_and_a_duplicate(client: httpx.AsyncClient) -> None:
    created = await client.post("/products", json=product("kb-1", price=4999))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sku"] == "kb-1"
    assert body["version"] == 1
    fetched = await client.get("/products/kb-1")
    assert fetched.status_code == 200
    assert fetched.json() == body
    stored = Product.get(sku="kb-1")
    assert stored is not None
    assert stored.to_dict() == body  # what the API answers is the stored item
    again = await client.post("/products", json=product("kb-1"))
    assert again.status_code == 409
    assert (await client.get("/products/none")).status_code == 404


async def test_bodies_are_checked_before_any_request(client: httpx.AsyncClient) -> None:
    with requests_sent(shop) as sent:
        assert (await client.post("/products", json={"sku": "x"})).status_code == 422
        negative = {**product("x"), "stock": -1}
        assert (await client.post("/products", json=negative)).status_code == 422
        # Valid for pydantic, refused by dynaorm: the price index key pads prices to 10 digits.
        huge = await client.post("/products", json=product("x", price=10**12))
        assert huge.status_code == 422
        assert "price_cents" in huge.json()["detail"]
    assert sent == []


async def test_updates_under_the_version_read(client: httpx.AsyncClient) -> None:
    await client.post("/products", json=product("mouse", price=1500))
    read = (await client.get("/products/mouse")).json()
    changed = await client.patch(
        "/products/mouse", json={"version": read["version"], "price_cents": 1200}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["price_cents"] == 1200
    assert changed.json()["version"] == 2
    # A second client still holds version 1: refused, and told the current version.
    stale = await client.patch("/products/mouse", json={"version": 1, "name": "Old mouse"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert (await client.get("/products/mouse")).json()["name"] == "Product mouse"
    # The price index moved with the price, in the same request.
    listed = (await client.get("/categories/books/products")).json()
    assert [(p["sku"], p["price_cents"]) for p in listed["items"]] == [("mouse", 1200)]
    missing = await client.patch("/products/none", json={"version": 1, "stock": 3})
    assert missing.status_code == 404
    unknown_field = await client.patch("/products/mouse", json={"version": 2, "colour": "red"})
    assert unknown_field.status_code == 422


async def test_pages_follow_the_cursor(client: httpx.AsyncClient) -> None:
    prices = [700, 100, 900, 300, 500, 200, 800]
    for n, price in enumerate(prices):
        await client.post("/products", json=product(f"b{n}", price=price))
    await client.post("/products", json=product("other", category="games"))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/categories/books/products", params=params)).json()
        seen += [p["price_cents"] for p in page["items"]]
        pages += 1
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == sorted(prices)  # cheapest first, each product once
    assert pages == 3
    bad = await client.get("/categories/books/products", params={"cursor": "forged"})
    assert bad.status_code == 400
    assert (await client.get("/categories/books/products?limit=0")).status_code == 422


async def test_the_oversell_race(client: httpx.AsyncClient) -> None:
    await client.post("/products", json=product("last-ten", stock=10))
    answers = await asyncio.gather(
        *(client.post("/products/last-ten/reservations", json={"quantity": 1}) for _ in range(20))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 10 + [409] * 10  # exactly the ten in stock were sold
    assert (await client.get("/products/last-ten")).json()["stock"] == 0
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["available"] == 0
    missing = await client.post("/products/none/reservations", json={"quantity": 1})
    assert missing.status_code == 404


async def test_throttling_beyond_the_retries_is_a_503(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    table = table_factory(shop)
    app = create_app(table)
    assert isinstance(app.state.catalog, AsyncCatalog)
    shop.retry_policy = RetryPolicy(max_attempts=2, base_delay=0.001)
    try:
        fault_injector(table, seed=1, throttle=1.0, operations={"GetItem"})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
            answer = await http.get("/products/kb-1")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
    finally:
        shop.retry_policy = None


def test_the_app_needs_the_shop_table() -> None:
    with pytest.raises(ValueError, match="shop"):
        create_app(Table("not-the-shop"))
