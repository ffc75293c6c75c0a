"""dynaorm.pydantic: a Pydantic v2 model per entity, and a FastAPI app on the real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pydantic = pytest.importorskip("pydantic")
fastapi = pytest.importorskip("fastapi")
from fastapi import FastAPI, HTTPException  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from json_models import Everything, full  # noqa: E402
from pynamodb.attributes import (  # noqa: E402
    BinaryAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from support import requests_sent  # noqa: E402

import dynaorm  # noqa: E402
from dynaorm import Entity, Key, Table, ValidationError, VersionAttribute  # noqa: E402
from dynaorm.pydantic import from_model, model_for, to_model  # noqa: E402

store = Table("pydantic-store")


class Line(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()


class Order(Entity, table=store):
    order_id = UnicodeAttribute()
    customer = UnicodeAttribute()
    status = UnicodeAttribute(default="new")
    total = NumberAttribute(null=True)
    placed_at = UTCDateTimeAttribute()
    tags = UnicodeSetAttribute(null=True)
    lines = ListAttribute(of=Line, null=True)
    receipt = BinaryAttribute(null=True, legacy_encoding=False)
    version = VersionAttribute()
    primary = Key(pk="ORDER#{order_id}", sk="ORDER")


OrderModel = model_for(Order)


def test_the_model_mirrors_the_attributes() -> None:
    fields = OrderModel.model_fields
    assert set(fields) == set(Order.get_attributes())
    assert fields["order_id"].is_required()
    assert fields["placed_at"].is_required()
    assert not fields["total"].is_required()
    assert fields["status"].default == "new"
    assert fields["version"].default is None
    assert model_for(Order) is OrderModel  # built once
    assert OrderModel.__name__ == "OrderModel"


def test_validation_errors_name_the_field() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        OrderModel.model_validate({"order_id": "o1", "customer": 3, "surprise": 1})
    errors = {tuple(e["loc"]): e["type"] for e in caught.value.errors()}
    assert errors == {
        ("customer",): "value_error",
        ("placed_at",): "missing",
        ("surprise",): "extra_forbidden",
    }
    with pytest.raises(pydantic.ValidationError, match=r"lines\.0\.quantity"):
        OrderModel.model_validate(
            {
                "order_id": "o1",
                "customer": "c",
                "placed_at": "2024-01-01T00:00:00+00:00",
                "lines": [{"sku": "s", "quantity": "many"}],
            }
        )


def test_model_json_is_the_entity_dict_and_converts_back() -> None:
    entity = full()
    model = to_model(entity)
    assert model.model_dump(mode="json") == entity.to_dict()
    assert json.loads(model.model_dump_json()) == entity.to_dict()
    assert from_model(Everything, model) == entity


def test_to_model_refuses_an_entity_missing_a_required_attribute() -> None:
    with pytest.raises(ValidationError, match=r"(?s)Order: .*placed_at.*missing"):
        to_model(Order(order_id="o1", customer="c"))


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order_id}", response_model=OrderModel)
    def get_order(order_id: str) -> Any:
        order = Order.get(order_id=order_id)
        if order is None:
            raise HTTPException(status_code=404, detail="no such order")
        return to_model(order)

    @app.post("/orders", response_model=OrderModel, status_code=201)
    def create_order(body: OrderModel) -> Any:  # type: ignore[valid-type]
        order = from_model(Order, body)
        order.save()
        return to_model(order)

    return app


@pytest.fixture
def client(table_factory: Callable[[Table], Table]) -> Iterator[TestClient]:
    table_factory(store)
    with TestClient(make_app()) as test_client:
        yield test_client


def test_fastapi_get_returns_an_entity_from_the_server(client: TestClient) -> None:
    Order(
        order_id="o1",
        customer="c1",
        placed_at=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        tags={"gift", "express"},
        lines=[Line(sku="apple", quantity=3)],
        receipt=b"\x00PDF",
    ).save()
    response = client.get("/orders/o1")
    assert response.status_code == 200
    body = response.json()
    stored = Order.get(order_id="o1", consistent=True)
    assert stored is not None
    assert body == stored.to_dict()
    assert body["placed_at"] == "2024-03-01T09:30:00+00:00"
    assert body["tags"] == ["express", "gift"]
    assert body["receipt"] == "AFBERg=="
    assert body["version"] == 1
    assert client.get("/orders/missing").status_code == 404


def test_fastapi_post_validates_the_body_and_saves(client: TestClient) -> None:
    body = {
        "order_id": "o2",
        "customer": "c2",
        "placed_at": "2024-03-02T10:00:00+01:00",
        "lines": [{"sku": "pear", "quantity": 2}],
        "receipt": "AAE=",
    }
    response = client.post("/orders", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1
    assert response.json()["status"] == "new"
    stored = Order.get(order_id="o2", consistent=True)
    assert stored is not None
    assert stored.placed_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert stored.lines[0].quantity == 2
    assert stored.receipt == b"\x00\x01"
    assert response.json() == stored.to_dict()


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "o3", "customer": "c"},  # placed_at missing
        {"order_id": "o3", "customer": "c", "placed_at": "2024-01-01T00:00:00"},  # no offset
        {"order_id": "o3", "customer": "c", "placed_at": "2024-01-01T00:00:00Z", "x": 1},
        {"order_id": "o3", "customer": 7, "placed_at": "2024-01-01T00:00:00Z"},
        {"order_id": "o3", "customer": "c", "placed_at": "2024-01-01T00:00:00Z", "total": "9"},
        {"order_id": "o3", "customer": "c", "placed_at": "2024-01-01T00:00:00Z", "receipt": "%"},
        {"order_id": "o3", "customer": "c", "placed_at": "2024-01-01T00:00:00Z", "lines": [{}]},
    ],
)
def test_fastapi_refuses_a_bad_body_with_422_and_sends_nothing(
    client: TestClient, body: dict[str, Any]
) -> None:
    with requests_sent(store) as sent:
        response = client.post("/orders", json=body)
    assert response.status_code == 422, response.text
    assert sent == []
    assert Order.get(order_id="o3", consistent=True) is None


def test_pydantic_is_imported_only_when_used() -> None:
    code = (
        "import sys, dynaorm\n"
        "from dynaorm import Entity\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported by dynaorm'\n"
        "import dynaorm.pydantic\n"
        "assert 'pydantic' in sys.modules\n"
    )
    root = Path(dynaorm.__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_the_openapi_schema_describes_the_json_form() -> None:
    schema = TestClient(make_app()).get("/openapi.json").json()["components"]["schemas"]
    inputs = schema.get("OrderModel-Input", schema.get("OrderModel"))
    receipt = inputs["properties"]["receipt"]["anyOf"][0]
    assert receipt == {"type": "string", "format": "base64"}
    assert inputs["properties"]["placed_at"]["format"] == "date-time"
    assert set(inputs["required"]) == {"order_id", "customer", "placed_at"}
    assert inputs["additionalProperties"] is False
    outputs = schema.get("OrderModel-Output", inputs)
    assert outputs["properties"]["tags"]["anyOf"][0] == {
        "items": {"type": "string"},
        "type": "array",
    }
