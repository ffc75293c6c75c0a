"""``store_key_fields=False``: items hold key fields only inside their keys, as published
single-table designs do; every write path stores that form, every read path decodes it whole,
updates keep it in step, and conditions that could not see such a field are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute

from dynaorm import (
    ConfigurationError,
    Entity,
    Index,
    Key,
    Shard,
    Table,
    ValidationError,
)
from dynaorm.model.key_only import key_only_fields

Factory = Callable[[Table], Table]

lean = Table(
    "test-key-only",
    indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK"), Index("GSI2", pk="GSI2PK", sk="GSI2SK")],
    store_key_fields=False,
)


class Order(Entity, table=lean):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    placed = UnicodeAttribute(null=True)
    total = NumberAttribute(null=True)
    note = UnicodeAttribute(null=True)
    primary = Key(pk="C#{customer_id}", sk="O#{order_id}")
    by_status = Key(index="GSI1", pk="S#{status}", sk="{placed}#{order_id}")  # sparse
    by_total = Key(index="GSI2", pk="T#{customer_id}", sk="{total:08d}")


class Doc(Entity, table=lean):
    doc_id = UnicodeAttribute()
    title = UnicodeAttribute()
    version = VersionAttribute()
    primary = Key(pk="D#{doc_id}", sk="D")
    by_title = Key(index="GSI1", pk="TITLE", sk="{title}", casing="lower")


def _raw(table: Table, key: dict[str, str]) -> dict[str, Any]:
    got: dict[str, Any] = table.call(
        "GetItem",
        {
            "TableName": table.name,
            "Key": {k: {"S": v} for k, v in key.items()},
            "ConsistentRead": True,
        },
        idempotent=True,
    )["Item"]
    return got


def _order(**values: Any) -> Order:
    defaults: dict[str, Any] = {
        "customer_id": "c1",
        "order_id": "o1",
        "status": "NEW",
        "placed": "2024-05-01",
        "total": 5,
        "note": "ring twice",
    }
    return Order(**{**defaults, **values})


STORED = {
    "_type": {"S": "Order"},
    "PK": {"S": "C#c1"},
    "SK": {"S": "O#o1"},
    "GSI1PK": {"S": "S#NEW"},
    "GSI1SK": {"S": "2024-05-01#o1"},
    "GSI2PK": {"S": "T#c1"},
    "GSI2SK": {"S": "00000005"},
    "note": {"S": "ring twice"},
}


def test_the_stored_form_leaves_out_what_the_keys_hold() -> None:
    assert Order(customer_id="c1", order_id="o1").to_item() == {
        "_type": {"S": "Order"},
        "PK": {"S": "C#c1"},
        "SK": {"S": "O#o1"},
    }
    assert _order().to_item() == STORED
    # A sparse index key left out keeps its fields stored: nothing else holds them.
    sparse = _order(status=None).to_item()
    assert sparse["placed"] == {"S": "2024-05-01"}
    assert "GSI1PK" not in sparse
    assert "status" not in sparse
    # A number whose key text reads back as another type stays stored.
    assert _order(total=5.0).to_item()["total"] == {"N": "5.0"}
    assert set(key_only_fields(Order)) == {"customer_id", "order_id", "status", "placed", "total"}
    # Versions and cased fields stay stored (conditions name the one, the other reads back
    # in its case only).
    assert set(key_only_fields(Doc)) == {"doc_id"}
    assert Doc(doc_id="d1", title="Hello").to_item()["title"] == {"S": "Hello"}


def test_every_write_path_stores_the_same_item(table_factory: Factory) -> None:
    table = table_factory(lean)
    key = {"PK": "C#c1", "SK": "O#o1"}
    _order().save()
    saved = _raw(table, key)
    assert saved == STORED
    with table.batch_write() as batch:
        batch.put(_order())
    assert _raw(table, key) == saved


@pytest.mark.requires("transactions")
def test_a_transaction_stores_the_same_item(table_factory: Factory) -> None:
    table = table_factory(lean)
    key = {"PK": "C#c1", "SK": "O#o1"}
    order = _order()
    order.save()
    saved = _raw(table, key)
    with table.transaction() as tx:
        tx.put(_order())
    assert _raw(table, key) == saved
    assert table.transact_get([Order.key(customer_id="c1", order_id="o1")]) == [order]


def test_every_read_path_decodes_whole(table_factory: Factory) -> None:
    table = table_factory(lean)
    order = _order()
    order.save()
    _order(order_id="o2", status=None).save()
    key = Order.key(customer_id="c1", order_id="o1")
    assert Order.get(customer_id="c1", order_id="o1") == order
    assert Order.query(customer_id="c1").first() == order
    assert Order.by_status.query(status="NEW").all() == [order]
    assert order in Order.by_total.query(customer_id="c1").all()  # o2 ties on the sort key
    assert sorted(o.order_id for o in Order.scan()) == ["o1", "o2"]
    assert order in table.partition(Order.primary, customer_id="c1").items
    assert table.batch_get([key]) == [order]
    stored = _raw(table, {"PK": "C#c1", "SK": "O#o1"})
    record = {
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"PK": stored["PK"], "SK": stored["SK"]}, "NewImage": stored},
    }
    (change,) = table.changes({"Records": [record]})
    assert change.new == order
    updated = order.update(Order.note.set("x"), return_values="ALL_NEW")
    assert updated.customer_id == "c1"
    assert updated.status == "NEW"
    new = Order.update_by_key(key, Order.note.set("y"), return_values="ALL_NEW")
    assert isinstance(new, Order)
    assert new.placed == "2024-05-01"
    paid = Order.update_by_key(
        key, Order.status.set("PAID"), Order.placed.set("2024-05-02"), return_values="UPDATED_NEW"
    )
    assert paid == {"status": "PAID", "placed": "2024-05-02"}


def test_projections_read_key_only_fields_from_their_keys(table_factory: Factory) -> None:
    table = table_factory(lean)
    _order().save()
    query = Order.query(customer_id="c1").select(Order.status)
    assert "GSI1PK" in str(query.compile()["ExpressionAttributeNames"].values())
    got = query.first()
    assert got is not None
    assert got.status == "NEW"
    assert "status" not in got.unloaded_attributes
    assert "note" in got.unloaded_attributes
    assert got.customer_id == "c1"  # the primary key's fields, as always
    whole = Order.query(customer_id="c1").select(*Order.get_attributes().values()).first()
    assert whole is not None
    assert not whole.is_partial
    assert whole.total == 5
    scanned = Order.scan().select(Order.total).first()
    assert scanned is not None
    assert scanned.total == 5
    (fetched,) = table.batch_get([Order.key(customer_id="c1", order_id="o1")], select=["placed"])
    assert isinstance(fetched, Order)
    assert fetched.placed == "2024-05-01"
    # A field whose keys are not read is not loaded (an absent attribute tells nothing).
    note_only = Order.query(customer_id="c1").select(Order.note).first()
    assert note_only is not None
    assert "status" in note_only.unloaded_attributes


def test_updates_keep_key_only_fields_in_step(table_factory: Factory) -> None:
    table = table_factory(lean)
    key = {"PK": "C#c1", "SK": "O#o1"}
    order = _order()
    order.save()
    request = order.update_plan(Order.status.set("PAID")).compile()
    named = request["ExpressionAttributeNames"]
    # No status attribute is written (status and placed are REMOVEd: copies a sparse state
    # may have left), and placed, taken from the instance, is checked in its key's text.
    removed = request["UpdateExpression"].split(" REMOVE ")[1].split(", ")
    assert {named[n] for n in removed} == {"status", "placed"}
    set_part = request["UpdateExpression"].split(" REMOVE ")[0]
    assert {named[t] for t in re.findall(r"#n\d+", set_part)} == {"_type", "GSI1PK", "GSI1SK"}
    checked = {named[t] for t in re.findall(r"#n\d+", request["ConditionExpression"])}
    assert checked == {"GSI1PK", "GSI1SK"}
    order.update(Order.status.set("PAID"))
    assert _raw(table, key) == {**STORED, "GSI1PK": {"S": "S#PAID"}}
    assert order.status == "PAID"
    # Removing a field of a sparse key removes the key: its other fields are stored again.
    order.update(Order.status.remove())
    raw = _raw(table, key)
    assert "GSI1PK" not in raw
    assert "status" not in raw
    assert raw["placed"] == {"S": "2024-05-01"}
    assert Order.get(customer_id="c1", order_id="o1") == order
    # Set again: the key is written and the copy goes.
    order.update(Order.status.set("SHIPPED"))
    assert _raw(table, key) == {**STORED, "GSI1PK": {"S": "S#SHIPPED"}}
    Order.update_by_key(order.item_key, Order.total.set(7))
    assert _raw(table, key)["GSI2SK"] == {"S": "00000007"}
    assert "total" not in _raw(table, key)
    order.update(Order.total.set(6.0))  # builds "00000006", which reads back as 6: stored
    # Stored beside the keys (DynamoDB itself normalises "6.0" to "6"; moto keeps the text).
    assert Decimal(_raw(table, key)["total"]["N"]) == 6
    assert Order.get(customer_id="c1", order_id="o1").total == 6  # type: ignore[union-attr]
    order.update(Order.total.set(7))
    assert "total" not in _raw(table, key)
    with pytest.raises(ValidationError, match=r"Order.placed \(stored only in the keys"):
        Order.update_by_key(order.item_key, Order.status.remove())
    Order.update_by_key(order.item_key, Order.status.remove(), Order.placed.set("2024-06-01"))
    assert _raw(table, key)["placed"] == {"S": "2024-06-01"}
    created = Order.update_by_key(Order.key(customer_id="c9", order_id="o9"), Order.note.set("n"))
    assert created is not None
    assert "customer_id" not in _raw(table, {"PK": "C#c9", "SK": "O#o9"})
    doc = Doc(doc_id="d1", title="A")
    doc.save()
    doc.update(Doc.title.set("B"))  # versioned, and a stored (cased) field
    assert Doc.get(doc_id="d1") == doc
    mutated = Doc.mutate(lambda d: setattr(d, "title", "C"), doc_id="d1")  # read, save
    assert mutated.version == 3
    assert "doc_id" not in _raw(table, {"PK": "D#d1", "SK": "D"})


def test_conditions_on_key_only_fields_are_refused_before_any_request(
    table_factory: Factory, sent_requests: Callable[[Table], list[str]]
) -> None:
    table = table_factory(lean)
    order = _order()
    order.save()
    sent = sent_requests(table)
    refusals: list[Callable[[], Any]] = [
        lambda: Order.query(customer_id="c1").where(Order.status == "NEW").first(),
        lambda: Order.scan().where(Order.customer_id == "c1").first(),
        lambda: table.scan().where(Order.placed.exists()).first(),
        lambda: table.partition_query(Order.primary, customer_id="c1").where(Order.total > 1),
        lambda: order.save(condition=Order.status == "NEW"),
        lambda: order.delete(condition=Order.order_id.exists()),
        lambda: order.update(Order.note.set("x"), condition=Order.status == "NEW"),
    ]
    for refused in refusals:
        with pytest.raises(ValidationError, match="lives only in key"):
            refused()
    assert sent == []
    with pytest.raises(ValidationError, match=r"key by_status \(GSI1PK = 'S#\{status\}'\)"):
        Order.query(customer_id="c1").where(Order.status == "NEW").first()
    order.save(condition=Order.note == "ring twice")  # a stored attribute: as always


def test_per_entity_and_definition_checks(table_factory: Factory) -> None:
    plain = Table("test-key-only-mixed", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])

    class Lean(Entity, table=plain, store_key_fields=False):
        lean_id = UnicodeAttribute()
        primary = Key(pk="L#{lean_id}", sk="L")

    class Full(Entity, table=plain):
        full_id = UnicodeAttribute()
        day = UnicodeAttribute()
        shard = Shard("full_id", count=4)
        primary = Key(pk="F#{full_id}", sk="F")
        by_day = Key(index="GSI1", pk="DAY#{day}#{shard}", sk="F")

    assert "lean_id" not in Lean(lean_id="a").to_item()
    assert Full(full_id="b", day="d").to_item()["full_id"] == {"S": "b"}

    class Sharded(Entity, table=plain, type_name="sharded", store_key_fields=False):
        s_id = UnicodeAttribute()
        day = UnicodeAttribute()
        shard = Shard("s_id", count=4)
        primary = Key(pk="S#{day}", sk="S")
        by_day = Key(index="GSI1", pk="DAY#{day}#{shard}", sk="X")

    # A shard source is not in the key text: it stays stored.
    assert set(key_only_fields(Sharded)) == {"day"}

    class Dated(Entity, table=plain, store_key_fields=["day"]):
        dated_id = UnicodeAttribute()
        day = UnicodeAttribute()
        primary = Key(pk="DT#{dated_id}", sk="DT")
        by_day = Key(index="GSI1", pk="DAY#{day}", sk="DT")

    dated = Dated(dated_id="x", day="d").to_item()
    assert dated["day"] == {"S": "d"}  # named: still stored
    assert "dated_id" not in dated
    with pytest.raises(ConfigurationError, match="names nope, which no key template uses"):

        class Bad(Entity, table=plain, store_key_fields=["nope"]):
            bad_id = UnicodeAttribute()
            primary = Key(pk="B#{bad_id}", sk="B")

    with pytest.raises(ConfigurationError, match="takes True, False or the names"):

        class Worse(Entity, table=plain, store_key_fields="bad_id"):
            bad_id = UnicodeAttribute()
            primary = Key(pk="W#{bad_id}", sk="W")

    table = table_factory(plain)
    Lean(lean_id="a").save()
    assert Lean.get(lean_id="a") == Lean(lean_id="a")
    assert "lean_id" not in _raw(table, {"PK": "L#a", "SK": "L"})
    with pytest.raises(ConfigurationError, match="store_key_fields= needs table="):

        class Abstract(Entity, store_key_fields=False):
            a = UnicodeAttribute()

    with pytest.raises(ConfigurationError, match="store_key_fields must be True or False"):
        Table("t", store_key_fields="no")  # type: ignore[arg-type]


_text = st.text(st.characters(blacklist_characters="#", blacklist_categories=("Cs",)), min_size=1)


@settings(max_examples=200, deadline=None)
@given(
    status=st.none() | _text,
    placed=st.none() | _text,
    total=st.none() | st.integers(0, 10**8 - 1) | st.floats(0, 10**7, allow_nan=False),
)
def test_every_stored_form_reads_back_equal(
    status: str | None, placed: str | None, total: float | None
) -> None:
    order = _order(status=status, placed=placed, total=total)
    try:
        item = order.to_item()
    except ValidationError:
        return  # a value no key can hold (the text after a field in it)
    assert Order.from_item(item) == order
    # Left out exactly where a key in the item holds the field.
    assert ("placed" in item) == (placed is not None and "GSI1PK" not in item)
    assert ("status" in item) == (status is not None and "GSI1PK" not in item)
    assert "customer_id" not in item
