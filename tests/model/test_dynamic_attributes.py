"""Dynamic attributes: one top-level attribute per warehouse (``Warehouse1..N``), declared
once by their prefix."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    ConditionFailed,
    ConfigurationError,
    DynamicAttributes,
    DynamicValues,
    Entity,
    Key,
    Table,
    ValidationError,
)
from tests.support import requests_sent

Factory = Callable[[Table], Table]

stock = Table("dynamic-stock")


class Product(Entity, table=stock):
    product_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    quantities = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
    primary = Key(pk="{product_id}", sk="PRODUCT")


def _raw(table: Table, product_id: str) -> dict[str, Any]:
    key = {"PK": {"S": product_id}, "SK": {"S": "PRODUCT"}}
    got: dict[str, Any] = table.call(
        "GetItem", {"TableName": table.name, "Key": key, "ConsistentRead": True}, idempotent=True
    )["Item"]
    return got


def test_stored_as_top_level_attributes() -> None:
    product = Product(product_id="p1", quantities={"Warehouse1": 5})
    product.quantities["Warehouse2"] = 7
    item = product.to_item()
    assert item["Warehouse1"] == {"N": "5"}
    assert item["Warehouse2"] == {"N": "7"}
    assert isinstance(product.quantities, DynamicValues)
    assert dict(product.quantities) == {"Warehouse1": 5, "Warehouse2": 7}
    assert Product(product_id="p2").quantities == {}


def test_round_trip_through_the_server(table_factory: Factory) -> None:
    table = table_factory(stock)
    Product(product_id="p1", name="bolt", quantities={"Warehouse1": 5, "Warehouse12": 2}).save()
    got = Product.get(product_id="p1")
    assert got is not None
    assert dict(got.quantities) == {"Warehouse1": 5, "Warehouse12": 2}
    assert got == Product(
        product_id="p1", name="bolt", quantities={"Warehouse1": 5, "Warehouse12": 2}
    )
    [queried] = Product.query(product_id="p1").all()
    assert queried.quantities == {"Warehouse1": 5, "Warehouse12": 2}
    del got.quantities["Warehouse12"]
    got.save()
    raw = _raw(table, "p1")
    assert "Warehouse12" not in raw
    assert raw["Warehouse1"] == {"N": "5"}


def test_items_written_by_others_are_read_whole(table_factory: Factory) -> None:
    table = table_factory(stock)
    table.call(
        "PutItem",
        {
            "TableName": table.name,
            "Item": {
                "PK": {"S": "p9"},
                "SK": {"S": "PRODUCT"},
                "_type": {"S": "Product"},
                "product_id": {"S": "p9"},
                "Warehouse3": {"N": "11"},
            },
        },
        idempotent=True,
    )
    got = Product.get(product_id="p9")
    assert got is not None
    assert got.quantities == {"Warehouse3": 11}


def test_updates_and_conditions_by_name(table_factory: Factory) -> None:
    table = table_factory(stock)
    product = Product(product_id="p1", quantities={"Warehouse1": 5})
    product.save()
    product.update(Product.quantities["Warehouse1"].add(3), Product.quantities["Warehouse4"].set(9))
    assert product.quantities == {"Warehouse1": 8, "Warehouse4": 9}
    assert _raw(table, "p1")["Warehouse1"] == {"N": "8"}
    hits = Product.query(product_id="p1").where(Product.quantities["Warehouse4"] >= 9).all()
    assert [p.product_id for p in hits] == ["p1"]
    product.update(Product.quantities["Warehouse4"].remove())
    assert product.quantities == {"Warehouse1": 8}
    assert "Warehouse4" not in _raw(table, "p1")


def test_bad_names_and_values_are_refused_before_any_request(table_factory: Factory) -> None:
    table = table_factory(stock)
    product = Product(product_id="p1")
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match="starting with 'Warehouse'"):
            product.quantities["Depot1"] = 1
        with pytest.raises(ValidationError, match="needs a suffix"):
            product.quantities["Warehouse"] = 1
        with pytest.raises(ValidationError, match="255 bytes"):
            product.quantities["Warehouse" + "x" * 300] = 1
        with pytest.raises(ValidationError, match="is not a number"):
            product.quantities["Warehouse1"] = "many"
        with pytest.raises(ValidationError, match="None is not a value"):
            product.quantities["Warehouse1"] = None
        with pytest.raises(ValidationError):
            product.quantities["Warehouse1"] = Decimal("NaN")
        with pytest.raises(ValidationError, match="starting with 'Warehouse'"):
            Product(product_id="p2", quantities={"Other": 1})
        with pytest.raises(ValidationError, match="starting with 'Warehouse'"):
            Product.quantities["Depot"]
        huge = Product(product_id="p3")
        for n in range(12000):
            huge.quantities[f"Warehouse{n:030d}"] = n
        with pytest.raises(ValidationError, match="limited to 409,600 bytes"):
            huge.save()
    assert sent == []


def test_prefix_clashes_are_refused_at_definition() -> None:
    with pytest.raises(ConfigurationError, match="also starts WarehouseName"):

        class Clash(Entity, table=Table("dynamic-clash")):
            product_id = UnicodeAttribute()
            warehouse_name = UnicodeAttribute(attr_name="WarehouseName")
            quantities = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
            primary = Key(pk="{product_id}", sk="P")

    with pytest.raises(ConfigurationError, match="also starts 'Warehouse'"):

        class Overlap(Entity, table=Table("dynamic-overlap")):
            product_id = UnicodeAttribute()
            quantities = DynamicAttributes(prefix="Ware", of=NumberAttribute)
            reserved = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
            primary = Key(pk="{product_id}", sk="P")

    with pytest.raises(ConfigurationError, match="PynamoDB attribute class"):
        DynamicAttributes(prefix="W", of=int)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="non-empty"):
        DynamicAttributes(prefix="", of=NumberAttribute)


def test_copies_do_not_share_the_mapping() -> None:
    product = Product(product_id="p1", quantities={"Warehouse1": 1})
    other = Product.from_item(product.to_item())
    other.quantities["Warehouse1"] = 2
    assert product.quantities["Warehouse1"] == 1


def test_json_forms_hold_the_mapping() -> None:
    product = Product(product_id="p1", name="bolt", quantities={"Warehouse1": 5, "Warehouse2": 1})
    data = product.to_dict()
    assert data["quantities"] == {"Warehouse1": 5, "Warehouse2": 1}
    assert Product.from_dict(data) == product
    with pytest.raises(ValidationError, match="starting with 'Warehouse'"):
        Product.from_dict({"product_id": "p1", "quantities": {"Depot": 1}})
    with pytest.raises(ValidationError, match="expected an object"):
        Product.from_dict({"product_id": "p1", "quantities": [1]})


def test_a_projection_never_reads_them_whole(table_factory: Factory) -> None:
    table_factory(stock)
    Product(product_id="p1", name="bolt", quantities={"Warehouse1": 5, "Warehouse2": 1}).save()
    [got] = Product.query(product_id="p1").select(Product.quantities["Warehouse2"]).all()
    assert got.quantities == {"Warehouse2": 1}
    assert got.is_partial
    with pytest.raises(ValidationError, match="select"):
        got.save()
    [named] = Product.query(product_id="p1").select(Product.product_id, Product.name).all()
    assert named.is_partial  # every declared attribute, but not the Warehouse<N> ones
    named.refresh()
    assert named.quantities == {"Warehouse1": 5, "Warehouse2": 1}


def test_conditional_writes_on_one_warehouse(table_factory: Factory) -> None:
    table_factory(stock)
    product = Product(product_id="p1", quantities={"Warehouse1": 2})
    product.save()
    enough = Product.quantities["Warehouse1"] >= 2
    product.update(Product.quantities["Warehouse1"].add(-2), condition=enough)
    assert product.quantities["Warehouse1"] == 0
    with pytest.raises(ConditionFailed):
        product.update(Product.quantities["Warehouse1"].add(-2), condition=enough)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20).map(lambda s: "Warehouse" + s),
        st.integers(min_value=-(10**20), max_value=10**20),
        max_size=8,
    )
)
def test_items_round_trip(quantities: dict[str, int]) -> None:
    product = Product(product_id="p1", quantities=quantities)
    item = product.to_item()
    assert {k: v for k, v in item.items() if k.startswith("Warehouse")} == {
        k: {"N": str(v)} for k, v in quantities.items()
    }
    assert Product.from_item(item) == product
    assert dict(Product.from_item(item).quantities) == quantities
