"""One decoder for every read path: partial entities and unknown items, against the server.

Partial entities (read with ``select()`` or through an index that does not project every
attribute) come from every read path, refuse whole-item writes before any request, raise
``AttributeNotLoaded`` for an attribute they did not read (never its default), and are made
whole by ``refresh()``. Items no entity claims, written raw, are treated by the table's
``unknown_items`` policy on every read path: kept as ``UnknownItem`` records (on the page, in
the results, with a warning) or raised; none is ever dropped without a trace.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from support import requests_sent

from dynaorm import (
    AttributeNotLoaded,
    ConditionFailed,
    ConfigurationError,
    DynaormError,
    Entity,
    Index,
    Key,
    Table,
    UnknownEntityType,
    UnknownItem,
    ValidationError,
    VersionAttribute,
)
from dynaorm.expressions.paths import path_of
from dynaorm.model.decode import Decoder, reload
from dynaorm.model.partial import PartialValues
from dynaorm.read.support import partly_read

Factory = Callable[[Table], Table]

shop = Table(
    "test-decode",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK", projection="INCLUDE", include=["name"]),
        Index("LSI1", sk="LSI1SK", local=True, projection="INCLUDE", include=["_type"]),
    ],
)


class Product(Entity, table=shop):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    stock = NumberAttribute(default=0)
    price = NumberAttribute(null=True)
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")
    by_name = Key(index="GSI1", pk="NAME#{name}", sk="PRODUCT#{sku}")


class Review(Entity, table=shop):
    sku = UnicodeAttribute()
    n = NumberAttribute()
    stars = NumberAttribute(default=5)
    text = UnicodeAttribute(null=True)
    primary = Key(pk="PRODUCT#{sku}", sk="REVIEW#{n:03d}")
    by_stars = Key(index="LSI1", sk="STARS#{stars}#{n:03d}")
    by_text = Key(index="GSI1", pk="TEXT#{text}", sk="STARS#{stars}")


class Account(Entity, table=shop):
    account_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-decode-secret")


@pytest.fixture
def table(table_factory: Factory) -> Iterator[Table]:
    """p1 (stock 7, not the default 0), three reviews of p1 (stars 2, 3, 4), account a1."""
    made = table_factory(shop)
    Product(sku="p1", name="Lamp", stock=7, price=30).save()
    for n in (1, 2, 3):
        Review(sku="p1", n=n, stars=n + 1, text=f"review {n}").save()
    Account(account_id="a1", owner="ada", balance=10).save()
    yield made
    made.unknown_items = "keep"
    made.classify = None


def put_raw(table: Table, item: dict[str, Any]) -> None:
    """Write an item as another tool would: botocore directly, no type attribute added."""
    table.transport.client.put_item(TableName=table.name, Item=item)


# -- partial entities from every read path -----------------------------------------------------


def by_query(table: Table) -> Entity:
    found = Product.query(sku="p1").select(Product.name).first()
    assert found is not None
    return found


def by_scan(table: Table) -> Entity:
    (found,) = Product.scan().select(Product.name).all()
    return found


def by_segmented_scan(table: Table) -> Entity:
    (found,) = list(Product.scan().select(Product.name).segments(3))
    return found


def by_segment(table: Table) -> Entity:
    found = [p for i in range(2) for p in Product.scan().select(Product.name).segment(i, of=2)]
    assert len(found) == 1
    return found[0]


def by_table_scan(table: Table) -> Entity:
    (found,) = table.scan(types=[Product]).select(Product.name).all()
    assert isinstance(found, Entity)
    return found


def by_batch_get(table: Table) -> Entity:
    (found,) = table.batch_get([Product.key(sku="p1")], select=[Product.name])
    assert isinstance(found, Entity)
    return found


def by_transact_get(table: Table) -> Entity:
    (found,) = table.transact_get([Product.key(sku="p1")], select=[Product.name])
    assert isinstance(found, Entity)
    return found


def by_include_index(table: Table) -> Entity:
    # No select(): the index holds the keys, name and the type attribute only.
    found = Product.by_name.query(name="Lamp").first()
    assert found is not None
    return found


PARTIAL_READS = [
    pytest.param(by_query, id="query"),
    pytest.param(by_scan, id="scan"),
    pytest.param(by_segmented_scan, id="segmented-scan"),
    pytest.param(by_segment, id="one-segment"),
    pytest.param(by_table_scan, id="table-scan"),
    pytest.param(by_batch_get, id="batch_get"),
    pytest.param(by_transact_get, id="transact_get", marks=pytest.mark.requires("transactions")),
    pytest.param(by_include_index, id="include-index"),
]


@pytest.mark.parametrize("read", PARTIAL_READS)
def test_every_projected_read_gives_a_partial_entity(
    table: Table, read: Callable[[Table], Entity]
) -> None:
    product = read(table)
    assert isinstance(product, Product)
    assert product.is_partial
    assert product.sku == "p1"  # key fields are restored from the keys
    assert "stock" in product.unloaded_attributes
    # Never the default (0) for an attribute that was not read (7 is stored).
    with pytest.raises(AttributeNotLoaded, match=r"Product .*'stock' was not loaded") as caught:
        product.stock  # noqa: B018
    assert isinstance(caught.value, AttributeError)
    assert isinstance(caught.value, DynaormError)
    assert (caught.value.entity, caught.value.attribute) == (Product, "stock")
    assert caught.value.key == {"PK": "PRODUCT#p1", "SK": "PRODUCT"}
    assert "refresh()" in str(caught.value)
    assert "Product.stock" in str(caught.value)
    assert not hasattr(product, "price")
    assert getattr(product, "price", "absent") == "absent"
    with requests_sent(table) as sent, pytest.raises(ValidationError, match=r"select\(\)"):
        product.save()
    assert sent == []
    product.refresh()  # read whole: every attribute back, writable again
    assert not product.is_partial
    assert (product.name, product.stock, product.price) == ("Lamp", 7, 30)
    product.save()
    assert Product.get(sku="p1", consistent=True) == product


def test_a_selected_read_shows_what_was_read_and_only_that(table: Table) -> None:
    product = by_query(table)
    assert product.name == "Lamp"
    assert product.unloaded_attributes == {"stock", "price"}
    assert repr(product) == "Product(name='Lamp', sku='p1', <not loaded: price, stock>)"
    whole = Product.get(sku="p1")
    assert whole is not None
    assert product != whole  # a partial instance never equals a whole one
    assert product == by_scan(table)  # the same attributes read, the same values
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match="not loaded: price, stock"):
            product.to_item()
        with pytest.raises(ValidationError, match=r"select\(\)"), table.batch_write() as batch:
            batch.put(product)
    assert sent == []


@pytest.mark.requires("transactions")
def test_a_transaction_refuses_to_put_a_partial_entity(table: Table) -> None:
    product = by_query(table)
    with (
        requests_sent(table) as sent,
        pytest.raises(ValidationError, match=r"select\(\)"),
        table.transaction() as tx,
    ):
        tx.put(product)
    assert sent == []
    assert Product.get(sku="p1", consistent=True).stock == 7  # type: ignore[union-attr]


def test_a_selected_attribute_missing_from_the_item_reads_as_in_a_whole_read(
    table: Table,
) -> None:
    Product(sku="p2", name="Desk").save()  # no price stored
    (found,) = Product.query(sku="p2").select(Product.price).all()
    assert found.price is None  # selected, and absent from the stored item
    assert found.unloaded_attributes == {"name", "stock"}


def test_setting_the_unloaded_attributes_makes_an_instance_whole(table: Table) -> None:
    product = by_query(table)
    product.stock = 8
    assert product.stock == 8
    assert product.unloaded_attributes == {"price"}
    product.price = 31
    assert not product.is_partial
    product.save()
    stored = Product.get(sku="p1", consistent=True)
    assert stored is not None
    assert (stored.name, stored.stock, stored.price) == ("Lamp", 8, 31)


def test_an_update_through_a_partial_entity_writes_only_its_actions(table: Table) -> None:
    product = by_query(table)
    product.update(Product.price.set(35))
    # The update returned the whole item: the instance is whole, nothing was erased.
    assert not product.is_partial
    assert (product.name, product.stock, product.price) == ("Lamp", 7, 35)


def test_a_versioned_partial_entity_needs_its_version_to_update_or_delete(table: Table) -> None:
    (slim,) = Account.query(account_id="a1").select(Account.owner).all()
    with requests_sent(table) as sent:
        with pytest.raises(AttributeNotLoaded, match="'version' was not loaded"):
            slim.update(Account.balance.add(5))
        with pytest.raises(AttributeNotLoaded, match="'version' was not loaded"):
            slim.delete()
    assert sent == []
    (versioned,) = Account.query(account_id="a1").select(Account.version).all()
    assert versioned.is_partial
    versioned.update(Account.balance.add(5))
    assert (versioned.balance, versioned.version) == (15, 2)
    assert not versioned.is_partial


def test_an_update_that_needs_an_unloaded_index_field_is_refused(table: Table) -> None:
    # Changing text rewrites the by_text index key, which also needs stars: not loaded.
    (found,) = Review.query(sku="p1").range(Review.n == 1).select(Review.text).all()
    assert found.unloaded_attributes == {"stars"}
    with requests_sent(table) as sent, pytest.raises(AttributeNotLoaded, match="'stars'"):
        found.update(Review.text.set("better"))
    assert sent == []
    found.refresh()
    found.update(Review.text.set("better"))
    assert Review.by_text.query(text="better").first() is not None


def test_a_local_index_without_select_gives_partial_entities(table: Table) -> None:
    found = Review.by_stars.query(sku="p1").all()
    assert [r.n for r in found] == [1, 2, 3]
    assert all(r.is_partial and r.unloaded_attributes == {"text"} for r in found)
    assert [r.stars for r in found] == [2, 3, 4]  # restored from the index key


def test_partial_values_pickle_and_keep_refusing() -> None:
    values = PartialValues(
        {"sku": "p1"}, entity=Product, unloaded=frozenset({"stock"}), key={"PK": "P"}
    )
    copy = pickle.loads(pickle.dumps(values))
    assert copy == {"sku": "p1"}
    assert copy.unloaded == {"stock"}
    with pytest.raises(AttributeNotLoaded):
        copy.get("stock")
    with pytest.raises(AttributeNotLoaded):
        copy["stock"]
    with pytest.raises(KeyError):
        copy["other"]
    assert copy.get("other", 3) == 3


# -- items no entity claims, on every read path -------------------------------------------------

UNTYPED_PRODUCT = {
    "PK": {"S": "PRODUCT#u1"},
    "SK": {"S": "PRODUCT"},
    "sku": {"S": "u1"},
    "name": {"S": "Legacy lamp"},
}
UNTYPED_REVIEW = {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "REVIEW#000"}, "n": {"N": "0"}}
GHOST = {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "REVIEW#009"}, "_type": {"S": "Ghost"}}


@pytest.fixture
def strangers(table: Table) -> Table:
    """``table`` plus an untyped product, an untyped review of p1 and an unregistered type."""
    for item in (UNTYPED_PRODUCT, UNTYPED_REVIEW, GHOST):
        put_raw(table, item)
    return table


def sort_keys(unknown: Any) -> list[str]:
    return sorted(u.item["SK"]["S"] if "SK" in u.item else "" for u in unknown)


def test_get_and_refresh_always_raise_for_an_item_that_is_not_the_entity(
    strangers: Table,
) -> None:
    for policy in ("keep", "raise"):
        strangers.unknown_items = policy  # type: ignore[assignment]
        with pytest.raises(UnknownEntityType, match="has no '_type' attribute") as caught:
            Product.get(sku="u1")
        assert caught.value.type_name is None
        assert caught.value.item["name"] == {"S": "Legacy lamp"}
    strangers.unknown_items = "keep"
    product = Product.get(sku="p1")
    assert product is not None
    put_raw(strangers, {**UNTYPED_PRODUCT, "PK": {"S": "PRODUCT#p1"}, "sku": {"S": "p1"}})
    with pytest.raises(UnknownEntityType, match="has no '_type' attribute"):
        product.refresh()
    put_raw(strangers, {"PK": {"S": "ACCOUNT#a2"}, "SK": {"S": "ACCOUNT"}})
    with pytest.raises(UnknownEntityType, match="has no '_type' attribute"):
        Account.mutate(lambda a: None, account_id="a2")


def test_batch_get_keeps_an_unknown_item_at_its_position(strangers: Table) -> None:
    keys = [Product.key(sku="u1"), Product.key(sku="p1"), Review.key(sku="p1", n=9)]
    untyped, product, ghost = strangers.batch_get(keys)
    assert isinstance(untyped, UnknownItem)
    assert untyped.type_name is None
    assert untyped.item["name"] == {"S": "Legacy lamp"}
    assert isinstance(product, Product)
    assert isinstance(ghost, UnknownItem)
    assert ghost.type_name == "Ghost"
    # With select: the same, and the known one is partial.
    untyped, product, _ = strangers.batch_get(keys, select=[Product.name])
    assert isinstance(untyped, UnknownItem)
    assert isinstance(product, Product)
    assert product.is_partial
    strangers.unknown_items = "raise"
    with pytest.raises(UnknownEntityType, match="is a None, not a 'Product'"):
        strangers.batch_get(keys)


@pytest.mark.requires("transactions")
def test_transact_get_keeps_an_unknown_item_at_its_position(strangers: Table) -> None:
    keys = [Product.key(sku="u1"), Product.key(sku="p1")]
    untyped, product = strangers.transact_get(keys)
    assert isinstance(untyped, UnknownItem)
    assert untyped.type_name is None
    assert isinstance(product, Product)
    strangers.unknown_items = "raise"
    with pytest.raises(UnknownEntityType):
        strangers.transact_get(keys)


def test_an_entity_query_reports_untyped_items_on_the_page_with_a_warning(
    strangers: Table, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dynaorm"):
        page = Review.query(sku="p1").page()
    assert [r.n for r in page.items] == [1, 2, 3]  # only Reviews among the results
    # The untyped item comes back, reported; the Ghost declares another type: filtered out.
    assert [u.item["SK"]["S"] for u in page.unknown] == ["REVIEW#000"]
    assert page.unknown[0].type_name is None
    assert "Review.primary.query(): 1 item(s)" in caplog.text
    assert "REVIEW#000" in caplog.text
    # Iterating (no pages in sight) still leaves the warning as a trace.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dynaorm"):
        assert [r.n for r in Review.query(sku="p1")] == [1, 2, 3]
    assert "page.unknown" in caplog.text
    # count() counts the results, as all() gives them: not the untyped item, which it
    # reports as pages do.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dynaorm"):
        assert Review.query(sku="p1").count() == 3
    assert "REVIEW#000" in caplog.text
    # The limit counts results: an unknown item does not use it up.
    limited = Review.query(sku="p1").limit(2).page()
    assert [r.n for r in limited.items] == [1, 2]
    assert [r.n for r in Review.query(sku="p1").after(limited.cursor).all()] == [3]
    strangers.unknown_items = "raise"
    with pytest.raises(UnknownEntityType, match="has no '_type' attribute"):
        Review.query(sku="p1").all()


def test_entity_scans_report_untyped_items_single_and_segmented(
    strangers: Table, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dynaorm"):
        pages = list(Product.scan().pages())
    assert [p.sku for page in pages for p in page.items] == ["p1"]
    assert sort_keys(u for page in pages for u in page.unknown) == ["PRODUCT", "REVIEW#000"]
    assert "Product.scan()" in caplog.text
    segmented = list(Product.scan().segments(4).pages())
    assert [p.sku for page in segmented for p in page.items] == ["p1"]
    assert sort_keys(u for page in segmented for u in page.unknown) == ["PRODUCT", "REVIEW#000"]
    one = [Product.scan().segment(i, of=3).page() for i in range(3)]
    assert sort_keys(u for page in one for u in page.unknown) == ["PRODUCT", "REVIEW#000"]
    strangers.unknown_items = "raise"
    with pytest.raises(UnknownEntityType):
        Product.scan().all()
    with pytest.raises(UnknownEntityType):
        list(Product.scan().segments(2))


def test_partitions_and_table_scans_keep_unknown_items_among_the_results(
    strangers: Table,
) -> None:
    result = strangers.partition(Product.primary, sku="p1")
    assert sort_keys(result.unknown) == ["REVIEW#000", "REVIEW#009"]
    assert [type(i).__name__ for i in result.items] == ["Product"] + ["Review"] * 3
    page = strangers.partition_query(Product.primary, sku="p1").page()
    assert sort_keys(page.unknown) == ["REVIEW#000", "REVIEW#009"]
    assert sum(isinstance(i, UnknownItem) for i in page.items) == 2  # among the results too
    restricted = strangers.partition(Product.primary, types=[Review], sku="p1")
    assert sort_keys(restricted.unknown) == ["REVIEW#000"]  # untyped could be a Review
    everything = strangers.scan().all()
    unknown = [i for i in everything if isinstance(i, UnknownItem)]
    assert sort_keys(unknown) == ["PRODUCT", "REVIEW#000", "REVIEW#009"]
    assert len(everything) - len(unknown) == 5  # p1, three reviews, a1
    parallel = list(strangers.scan().segments(3))
    assert sort_keys(i for i in parallel if isinstance(i, UnknownItem)) == sort_keys(unknown)
    strangers.unknown_items = "raise"
    with pytest.raises(UnknownEntityType):
        strangers.partition(Product.primary, sku="p1")
    with pytest.raises(UnknownEntityType):
        strangers.scan().all()
    # strict= overrides the table's policy for one read.
    kept = strangers.partition(Product.primary, strict=False, sku="p1")
    assert len(kept.unknown) == 2
    strangers.unknown_items = "keep"
    with pytest.raises(UnknownEntityType):
        strangers.scan(strict=True).all()


def test_nothing_is_dropped_without_a_trace(strangers: Table) -> None:
    """Every stored item is accounted for by every kind of read: a result or a record."""
    raw = strangers.call("Scan", {"TableName": strangers.name}, idempotent=True)["Items"]
    scanned = list(strangers.scan().pages())
    assert sum(len(p.items) for p in scanned) == len(raw)  # mixed: unknowns are results
    typed = [Product.scan().page(), Review.scan().page(), Account.scan().page()]
    untyped = {(u.item["PK"]["S"], u.item["SK"]["S"]) for p in typed for u in p.unknown}
    results = sum(len(p.items) for p in typed)
    ghosts = [i for i in raw if i.get("_type") == {"S": "Ghost"}]
    # Each typed scan returns its own items and reports the untyped ones; the Ghost has a type
    # no entity claims, so only the mixed read (above) can hold it.
    assert results + len(untyped) + len(ghosts) == len(raw)


def test_a_classify_hook_claims_untyped_items_on_every_path(strangers: Table) -> None:
    def classify(item: Any) -> type[Entity] | None:
        return Product if item["SK"]["S"] == "PRODUCT" else None

    strangers.classify = classify
    product = Product.get(sku="u1")
    assert isinstance(product, Product)
    assert product.name == "Legacy lamp"
    assert product.stock == 0  # a whole read: the default, as for any stored item without it
    (batch,) = strangers.batch_get([Product.key(sku="u1")])
    assert isinstance(batch, Product)
    page = Product.scan().page()
    assert sorted(p.sku for p in page.items) == ["p1", "u1"]
    assert sort_keys(page.unknown) == ["REVIEW#000"]
    assert strangers.entity_for(UNTYPED_PRODUCT) is Product
    assert strangers.from_item(UNTYPED_PRODUCT).name == "Legacy lamp"  # type: ignore[attr-defined]
    product.save()  # writes the type attribute: a typed item from now on
    strangers.classify = None
    assert isinstance(Product.get(sku="u1", consistent=True), Product)
    strangers.classify = lambda item: Table  # type: ignore[assignment,return-value]
    with pytest.raises(ConfigurationError, match="classify returned"):
        Review.query(sku="p1").all()


def test_the_policy_is_checked_when_the_table_is_defined() -> None:
    with pytest.raises(ConfigurationError, match="unknown_items must be one of keep, raise"):
        Table("t", unknown_items="drop")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="classify must be callable"):
        Table("t", classify="Product")  # type: ignore[arg-type]


@pytest.mark.requires("return_values_on_condition_failure")
def test_a_failed_condition_carries_an_untyped_stored_item_raw(strangers: Table) -> None:
    with pytest.raises(ConditionFailed) as caught:
        Product(sku="u1", name="x").save(condition=Product.name == "nope")
    assert caught.value.item == UNTYPED_PRODUCT  # raw: it is not a Product


# -- the decoder itself (no server) --------------------------------------------------------------

ATTRIBUTES = ("name", "stock", "price")


@settings(max_examples=200, deadline=None)
@given(
    selected=st.sets(st.sampled_from(ATTRIBUTES)),
    stock=st.integers(min_value=-(10**6), max_value=10**6),
    price=st.none() | st.integers(min_value=0, max_value=10**6),
    name=st.text(alphabet="abcxyz LAMP", min_size=1, max_size=20),
)
def test_a_partial_decode_holds_exactly_what_was_selected(
    selected: set[str], stock: int, price: int | None, name: str
) -> None:
    """Whatever is selected, a partial entity agrees with the whole one on every selected
    attribute, raises for every other one, and is whole again after a reload."""
    whole = Product(sku="p1", name=name, stock=stock, price=price)
    item = whole.to_item()
    physical = {Product.get_attributes()[n].attr_name for n in selected}
    projected = {k: v for k, v in item.items() if k in physical | {"PK", "SK", "_type"}}
    returned = physical | {"PK", "SK", "_type", "GSI1PK", "GSI1SK", "LSI1SK"}
    decoded = Decoder(shop, entities=(Product,), returned=returned)(projected)
    assert isinstance(decoded, Product)
    assert decoded.sku == "p1"  # restored from the key
    assert decoded.unloaded_attributes == set(ATTRIBUTES) - selected
    assert decoded.is_partial == (selected != set(ATTRIBUTES))
    for attribute in ATTRIBUTES:
        if attribute in selected:
            assert getattr(decoded, attribute) == getattr(whole, attribute)
        else:
            with pytest.raises(AttributeNotLoaded):
                getattr(decoded, attribute)
    assert (decoded == whole) == (selected == set(ATTRIBUTES))
    reload(decoded, item)
    assert decoded == whole
    assert not decoded.is_partial


@settings(max_examples=100, deadline=None)
@given(
    type_value=st.none() | st.sampled_from(["Product", "Review", "Ghost", ""]),
    policy=st.sampled_from(["keep", "raise"]),
)
def test_an_item_not_of_the_asked_type_is_never_an_entity(
    type_value: str | None, policy: str
) -> None:
    item: dict[str, Any] = {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "PRODUCT"}, "sku": {"S": "p1"}}
    if type_value is not None:
        item["_type"] = {"S": type_value}
    decoder = Decoder(shop, entities=(Product,), strict=policy == "raise")
    if type_value == "Product":
        assert isinstance(decoder(item), Product)
    elif policy == "raise":
        with pytest.raises(UnknownEntityType):
            decoder(item)
    else:
        record = decoder(item)
        assert isinstance(record, UnknownItem)
        assert record.type_name == type_value
        assert record.item == item


# -- an entity's identity is the key its attributes build ---------------------------------------

ledger = Table("test-decode-keys", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Event(Entity, table=ledger):
    stream = UnicodeAttribute()
    seq = NumberAttribute()
    score = NumberAttribute(null=True)
    primary = Key(pk="S#{stream}", sk="E#{seq:04d}")
    by_score = Key(index="GSI1", pk="SCORE#{stream}", sk="{score:06d}")


def event_item(sk: str, seq: str, score: str, **extra: Any) -> dict[str, Any]:
    """An Event item written raw (an older definition, another tool, an import)."""
    return {
        "PK": {"S": "S#s"},
        "SK": {"S": sk},
        "_type": {"S": "Event"},
        "stream": {"S": "s"},
        "seq": {"N": seq},
        "score": {"N": score},
        **extra,
    }


# Stored under keys "E#{seq:04d}" never builds, yet that read back as seq=1 before.
MISKEYED = ["E#1", "E#1.0", "E#1e0"]


@pytest.fixture
def events(table_factory: Factory) -> Iterator[Table]:
    """The real Event 1 (score 100, at E#0001) and three items of seq 1 stored under keys in
    another format (scores 7, 8, 9)."""
    made = table_factory(ledger)
    Event(stream="s", seq=1, score=100).save()
    for score, sk in enumerate(MISKEYED, start=7):
        put_raw(made, event_item(sk, "1", str(score)))
    yield made
    made.unknown_items = "keep"


def stored_keys(table: Table) -> list[str]:
    items = table.call("Scan", {"TableName": table.name, "ConsistentRead": True}, idempotent=True)
    return sorted(i["SK"]["S"] for i in items["Items"])


def test_an_item_stored_under_another_key_format_is_never_taken_for_the_entity(
    events: Table, caplog: pytest.LogCaptureFixture
) -> None:
    """The reviewer's case: deleting what a query returns deletes those items, never the
    item at the key the template builds (the real E#0001) in their place."""
    reads: dict[str, Callable[[], Any]] = {
        "query": lambda: Event.query(stream="s").consistent().page(),
        "query-select": lambda: Event.query(stream="s").consistent().select(Event.score).page(),
        "scan": lambda: Event.scan().consistent().page(),
        "scan-select": lambda: Event.scan().consistent().select(Event.score).page(),
    }
    for name, read in reads.items():
        with caplog.at_level(logging.WARNING, logger="dynaorm"):
            page = read()
        assert [(e.item_key.key["SK"], e.score) for e in page.items] == [("E#0001", 100)], name
        assert sorted(u.item["SK"]["S"] for u in page.unknown) == sorted(MISKEYED), name
        assert all(u.type_name == "Event" for u in page.unknown)
        assert "not stored under the key" in caplog.text
    segmented = list(Event.scan().consistent().segments(3).pages())
    assert [e.score for p in segmented for e in p.items] == [100]
    assert sorted(u.item["SK"]["S"] for p in segmented for u in p.unknown) == sorted(MISKEYED)
    mixed = events.scan().consistent().all()
    assert sorted(i.item["SK"]["S"] for i in mixed if isinstance(i, UnknownItem)) == sorted(
        MISKEYED
    )
    assert [e.score for e in mixed if isinstance(e, Event)] == [100]
    partition = events.partition(Event.primary, stream="s")
    assert sorted(u.item["SK"]["S"] for u in partition.unknown) == sorted(MISKEYED)
    # Acting on every entity a read gave acts on those items only.
    for found in Event.query(stream="s").consistent().select(Event.score):
        found.delete()
    assert stored_keys(events) == sorted(MISKEYED)
    events.unknown_items = "raise"
    with pytest.raises(UnknownEntityType, match="not stored under the key") as caught:
        Event.query(stream="s").all()
    assert caught.value.type_name == "Event"
    assert caught.value.item["SK"]["S"] in MISKEYED


def test_a_whole_read_by_key_checks_the_key_too(events: Table) -> None:
    """The fast path of whole reads (get, refresh, from_item) checks what the decoder does:
    an item at E#0002 whose seq says 3 is not Event 2, nor Event 3."""
    misplaced = event_item("E#0002", "3", "5")
    put_raw(events, misplaced)
    for policy in ("keep", "raise"):
        events.unknown_items = policy  # type: ignore[assignment]
        with pytest.raises(UnknownEntityType, match=r"E#\{seq:04d\}.* gives .*E#0003"):
            Event.get(stream="s", seq=2, consistent=True)
    events.unknown_items = "keep"
    with pytest.raises(UnknownEntityType, match="not stored under the key"):
        Event.from_item(misplaced)
    with pytest.raises(UnknownEntityType, match="not stored under the key"):
        events.from_item(misplaced)
    (unknown,) = events.batch_get([Event.key(stream="s", seq=2)], consistent=True)
    assert isinstance(unknown, UnknownItem)
    assert unknown.type_name == "Event"
    real = Event.get(stream="s", seq=1, consistent=True)
    assert real is not None
    put_raw(events, event_item("E#0001", "4", "100"))  # overwritten by another tool
    with pytest.raises(UnknownEntityType, match="not stored under the key"):
        real.refresh()
    assert real.score == 100
    assert real.seq == 1


@pytest.mark.requires("transactions")
def test_transact_get_checks_the_key(events: Table) -> None:
    put_raw(events, event_item("E#0002", "3", "5"))
    (unknown, real) = events.transact_get(
        [Event.key(stream="s", seq=2), Event.key(stream="s", seq=1)]
    )
    assert isinstance(unknown, UnknownItem)
    assert isinstance(real, Event)


@pytest.mark.requires("return_values_on_condition_failure")
def test_a_failed_condition_carries_a_miskeyed_stored_item_raw(events: Table) -> None:
    misplaced = event_item("E#0002", "3", "5")
    put_raw(events, misplaced)
    with pytest.raises(ConditionFailed) as caught:
        Event(stream="s", seq=2, score=1).save(condition=Event.score == 99)
    assert caught.value.item == misplaced  # raw: it is not Event 2


def test_a_whole_item_lacking_a_key_field_takes_it_from_its_key(events: Table) -> None:
    # Written by a tool that stores the key only: the key says seq=5, as a partial read says.
    put_raw(events, {k: v for k, v in event_item("E#0005", "5", "50").items() if k != "seq"})
    whole = Event.get(stream="s", seq=5, consistent=True)
    assert whole is not None
    assert whole.seq == 5
    (part,) = Event.query(stream="s").range(Event.seq == 5).select(Event.score).all()
    assert part.seq == 5
    assert part.item_key == whole.item_key


def test_an_index_key_out_of_step_decodes_and_is_rewritten_by_the_next_write(
    events: Table,
) -> None:
    # The primary key is right; the index key is in another format ("7" for "{score:06d}").
    raw = event_item("E#0002", "2", "7", GSI1PK={"S": "SCORE#s"}, GSI1SK={"S": "7"})
    put_raw(events, raw)
    found = Event.get(stream="s", seq=2, consistent=True)
    assert found is not None
    assert found.score == 7
    (part,) = Event.query(stream="s").range(Event.seq == 2).select(Event.score).all()
    assert part.score == 7
    assert part.item_key == found.item_key
    (through_index,) = [e for e in Event.by_score.query(stream="s").all() if e.seq == 2]
    assert through_index.item_key == found.item_key
    found.save()
    stored = events.call(
        "GetItem",
        {"TableName": events.name, "Key": found.item_key.to_request(), "ConsistentRead": True},
        idempotent=True,
    )["Item"]
    assert stored["GSI1SK"] == {"S": "000007"}


# -- a nested selection reads part of an attribute: the entity is partial ------------------------

documents = Table("test-decode-nested")


class Doc(Entity, table=documents):
    doc_id = UnicodeAttribute()
    title = UnicodeAttribute(null=True)
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    tags = ListAttribute(null=True)  # type: ignore[var-annotated]
    version = VersionAttribute()
    primary = Key(pk="DOC#{doc_id}", sk="DOC")


META = {"colour": "red", "size": "L", "owner": "ann"}
TAGS = ["a", "b", "c"]


@pytest.fixture
def docs(table_factory: Factory) -> Table:
    made = table_factory(documents)
    Doc(doc_id="d1", title="One", meta=META, tags=TAGS).save()
    return made


# Every attribute selected, but meta only through a nested path.
NESTED = (Doc.meta["colour"], Doc.title, Doc.tags, Doc.version)


def nested_by_query(table: Table) -> Entity:
    (found,) = Doc.query(doc_id="d1").select(*NESTED).all()
    return found


def nested_by_scan(table: Table) -> Entity:
    (found,) = Doc.scan().select(*NESTED).all()
    return found


def nested_by_segments(table: Table) -> Entity:
    (found,) = list(Doc.scan().select(*NESTED).segments(2))
    return found


def nested_by_table_scan(table: Table) -> Entity:
    (found,) = table.scan(types=[Doc]).select(*NESTED).all()
    assert isinstance(found, Entity)
    return found


def nested_by_batch_get(table: Table) -> Entity:
    (found,) = table.batch_get([Doc.key(doc_id="d1")], select=list(NESTED))
    assert isinstance(found, Entity)
    return found


def nested_by_transact_get(table: Table) -> Entity:
    (found,) = table.transact_get([Doc.key(doc_id="d1")], select=list(NESTED))
    assert isinstance(found, Entity)
    return found


NESTED_READS = [
    pytest.param(nested_by_query, id="query"),
    pytest.param(nested_by_scan, id="scan"),
    pytest.param(nested_by_segments, id="segmented-scan"),
    pytest.param(nested_by_table_scan, id="table-scan"),
    pytest.param(nested_by_batch_get, id="batch_get"),
    pytest.param(
        nested_by_transact_get, id="transact_get", marks=pytest.mark.requires("transactions")
    ),
]


def stored_doc() -> Doc:
    doc = Doc.get(doc_id="d1", consistent=True)
    assert doc is not None
    return doc


@pytest.mark.parametrize("read", NESTED_READS)
def test_a_nested_selection_makes_the_entity_partial(
    docs: Table, read: Callable[[Table], Entity]
) -> None:
    """``select(Doc.meta["colour"])`` reads one member of meta: written back, meta would lose
    the others, so the entity is partial although every attribute was selected."""
    doc = read(docs)
    assert isinstance(doc, Doc)
    assert doc.is_partial
    assert doc.unloaded_attributes == set()
    assert doc.partly_loaded_attributes == {"meta"}
    if read is not nested_by_transact_get:  # (moto returns whole items there)
        assert doc.meta.as_dict() == {"colour": "red"}  # only the selected keys, as documented
    assert (doc.title, doc.tags, doc.version) == ("One", TAGS, 1)
    assert "<read in part: meta>" in repr(doc)
    doc.meta["colour"] = "blue"
    doc.meta = {"colour": "blue"}  # setting it does not make it whole: built from the part
    assert doc.is_partial
    with requests_sent(docs) as sent:
        with pytest.raises(ValidationError, match="read only in part: meta"):
            doc.save()
        with pytest.raises(ValidationError, match="read only in part: meta"):
            doc.to_item()
        with pytest.raises(ValidationError, match="only in part"), docs.batch_write() as batch:
            batch.put(doc, unconditional=True)  # the version check aside
        with pytest.raises(AttributeNotLoaded, match="'meta' was read only in part") as caught:
            doc.to_dict()
        assert caught.value.attribute == "meta"
    assert sent == []
    assert stored_doc().meta.as_dict() == META  # nothing lost
    doc.refresh()
    assert not doc.is_partial
    assert doc.meta.as_dict() == META
    doc.save()
    assert stored_doc().meta.as_dict() == META


@pytest.mark.requires("transactions")
def test_a_transaction_refuses_to_put_a_nested_selection(docs: Table) -> None:
    doc = nested_by_query(docs)
    with (
        requests_sent(docs) as sent,
        pytest.raises(ValidationError, match="read only in part"),
        docs.transaction() as tx,
    ):
        tx.put(doc)
    assert sent == []
    assert stored_doc().meta.as_dict() == META


def test_a_list_element_selection_is_partial_too() -> None:
    """(Decoded offline: moto mis-parses a projection holding a list index.)"""
    doc = Doc(doc_id="d1", title="One", meta=META, tags=TAGS, version=1)
    item = doc.to_item()
    selected = [path_of(p) for p in (Doc.title, Doc.meta, Doc.version, Doc.tags[1])]
    returned = {"_type", "PK", "SK", "title", "meta", "version", "tags"}
    decode = Decoder(documents, returned=returned, partly=partly_read(selected))
    found = decode({**item, "tags": {"L": [{"S": "b"}]}})
    assert isinstance(found, Doc)
    assert found.partly_loaded_attributes == {"tags"}
    assert found.tags == ["b"]
    with pytest.raises(ValidationError, match="read only in part: tags"):
        found.save()
    # An attribute selected whole is read whole, nested paths into it or not.
    assert partly_read([path_of(Doc.tags), Doc.tags[1], Doc.meta["colour"]]) == {"meta"}
    whole = Decoder(documents, returned=returned, partly=partly_read([path_of(Doc.tags)]))(item)
    assert isinstance(whole, Doc)
    assert not whole.is_partial
    assert whole == doc


def test_updates_and_deletes_through_a_nested_selection_write_only_what_they_name(
    docs: Table,
) -> None:
    doc = nested_by_query(docs)
    doc.update(Doc.title.set("Two"))  # needs the version only, which was read
    assert not doc.is_partial
    assert doc.meta.as_dict() == META
    assert stored_doc().meta.as_dict() == META
    doc = nested_by_query(docs)
    doc.delete()
    assert Doc.get(doc_id="d1", consistent=True) is None


def test_a_nested_selection_does_not_pass_for_whole_through_dicts_or_models(
    docs: Table,
) -> None:
    pytest.importorskip("pydantic")
    from dynaorm.pydantic import to_model

    doc = nested_by_query(docs)
    with pytest.raises(AttributeNotLoaded, match="read only in part"):
        to_model(doc)
    with pytest.raises(AttributeNotLoaded):
        Doc.from_dict(doc.to_dict())
    assert doc != stored_doc()
    assert doc == nested_by_scan(docs)  # the same part read: equal


def test_partial_values_keep_what_was_read_in_part_through_pickle() -> None:
    values = PartialValues(
        {"doc_id": "d1", "meta": {"colour": "red"}},
        entity=Doc,
        unloaded=frozenset(),
        key={"PK": "DOC#d1"},
        partly=frozenset({"meta"}),
    )
    copy = pickle.loads(pickle.dumps(values))
    assert copy.partly == {"meta"}
    assert copy["meta"] == {"colour": "red"}
    assert isinstance(copy.read_in_part("meta"), AttributeNotLoaded)
