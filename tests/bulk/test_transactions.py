"""table.transaction() and table.transact_get(): pre-flight, versions, cancellation, contention."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import hooked

from dynaorm import (
    CancellationReason,
    EndpointUnavailable,
    Entity,
    Key,
    RetryPolicy,
    Table,
    Transaction,
    TransactionCanceled,
    ValidationError,
    VersionAttribute,
)
from dynaorm.faults import FaultInjector
from dynaorm.wire.hooks import Attempt

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]

shop = Table("test-transactions")
elsewhere = Table("test-transactions-elsewhere")


class Product(Entity, table=shop):
    sku = UnicodeAttribute()
    stock = NumberAttribute()
    version = VersionAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    sku = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")


class Stranger(Entity, table=elsewhere):
    stranger_id = UnicodeAttribute()
    primary = Key(pk="S#{stranger_id}", sk="S")


def run(
    tx: Transaction, *steps: Callable[[Transaction], object], then: Exception | None = None
) -> None:
    """Run ``tx`` as a block doing ``steps``, then raising ``then`` if given."""
    with tx:
        for step in steps:
            step(tx)
        if then is not None:
            raise then


def order(order_id: str, **values: Any) -> Order:
    return Order(customer_id="c1", order_id=order_id, **values)


# -- commit ---------------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_all_four_actions_commit_together(table_factory: Factory) -> None:
    table = table_factory(shop)
    product = Product(sku="s1", stock=5)
    product.save()
    customer = Customer(customer_id="c1", name="Ann")
    customer.save()
    order("old").save()
    new = order("o1", sku="s1")
    with table.transaction(token="place-o1") as tx:
        tx.put(new)
        tx.update(product, Product.stock.add(-2), condition=Product.stock >= 2)
        tx.delete(Order.key(customer_id="c1", order_id="old"))
        tx.check(customer)
    assert tx.state == "committed"
    assert Order.get(customer_id="c1", order_id="o1") == new
    assert Order.get(customer_id="c1", order_id="old") is None
    stored = Product.get(sku="s1", consistent=True)
    assert stored is not None
    assert (stored.stock, stored.version) == (3, 2)
    assert product.version == 2  # the instance follows once committed
    assert customer.version == 1  # checked, not written


@pytest.mark.requires("transactions")
def test_versioned_puts_write_the_next_version_after_commit_only(table_factory: Factory) -> None:
    table = table_factory(shop)
    fresh = Customer(customer_id="c2", name="Bo")
    with table.transaction() as tx:
        tx.put(fresh)
        inside = fresh.version  # not yet committed
    assert (inside, fresh.version) == (None, 1)
    with table.transaction() as tx:
        fresh.name = "Bob"
        tx.put(fresh)
    assert fresh.version == 2
    assert Customer.get(customer_id="c2") == fresh


@pytest.mark.requires("transactions")
def test_update_by_key_increments_the_stored_version(table_factory: Factory) -> None:
    table = table_factory(shop)
    Product(sku="s1", stock=1).save()
    with table.transaction() as tx:
        tx.update(Product.key(sku="s1"), Product.stock.add(10))
    stored = Product.get(sku="s1", consistent=True)
    assert stored is not None
    assert (stored.stock, stored.version) == (11, 2)


def test_the_request_carries_the_token(table_factory: Factory) -> None:
    table = table_factory(shop)
    tx = table.transaction(token="place-o1")
    tx.put(order("o1"))
    request = tx.compile()
    assert request["ClientRequestToken"] == "place-o1"
    assert [list(item) for item in request["TransactItems"]] == [["Put"]]
    generated = table.transaction().token
    assert len(generated) == 36
    assert generated != table.transaction().token


# -- pre-flight -----------------------------------------------------------------------------


def test_more_than_100_actions_are_refused_before_any_request(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(shop)
    sent = sent_requests(table)
    tx = table.transaction()

    def actions(tx: Transaction) -> None:
        for i in range(101):
            tx.put(order(f"o{i}"))

    with pytest.raises(ValidationError, match=r"at most 100 actions.*action 101"):
        run(tx, actions)
    assert len(tx.actions) == 100
    assert tx.state == "discarded"
    assert sent == []


def test_more_than_4_mb_is_refused_before_any_request(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(shop)
    sent = sent_requests(table)
    tx = table.transaction()

    def actions(tx: Transaction) -> None:
        for i in range(11):
            tx.put(order(f"o{i}", note="x" * 390_000))

    with pytest.raises(ValidationError, match="4,194,304"):
        run(tx, actions)
    assert len(tx.actions) == 10
    assert 3_900_000 < tx.size <= 4 * 1024 * 1024
    assert sent == []


@pytest.mark.parametrize(
    "second",
    [
        lambda tx: tx.update(Order.key(customer_id="c1", order_id="o1"), Order.note.set("x")),
        lambda tx: tx.delete(order("o1")),
        lambda tx: tx.check(Order.key(customer_id="c1", order_id="o1"), Order.note.exists()),
        lambda tx: tx.put(order("o1", note="again")),
    ],
    ids=["update", "delete", "check", "put"],
)
def test_two_actions_on_one_item_are_refused(
    table_factory: Factory, sent_requests: Recorder, second: Callable[[Transaction], object]
) -> None:
    table = table_factory(shop)
    sent = sent_requests(table)
    with pytest.raises(ValidationError, match=r"already the target of action 0 \(Put Order"):
        run(table.transaction(), lambda tx: tx.put(order("o1")), second)
    assert sent == []


def test_other_invalid_actions_are_refused(table_factory: Factory) -> None:
    table = table_factory(shop)
    tx = table.transaction()
    with pytest.raises(ValidationError, match="limited to"):
        tx.put(order("big", note="x" * 410_000))
    with pytest.raises(ValidationError, match="not an entity of table"):
        tx.put(Stranger(stranger_id="s"))
    with pytest.raises(ValidationError, match="needs a condition"):
        tx.check(Order.key(customer_id="c1", order_id="o1"))
    with pytest.raises(ValidationError, match="takes an entity or an ItemKey"):
        tx.delete("CUSTOMER#c1")  # type: ignore[arg-type]
    assert tx.actions == ()


@pytest.mark.parametrize("token", ["", "x" * 37])
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="1 to 36 characters"):
        shop.transaction(token=token)


def test_a_raising_block_sends_nothing(table_factory: Factory, sent_requests: Recorder) -> None:
    table = table_factory(shop)
    sent = sent_requests(table)
    customer = Customer(customer_id="c1", name="Ann")
    tx = table.transaction()
    with pytest.raises(RuntimeError):
        run(tx, lambda tx: tx.put(customer), then=RuntimeError("changed my mind"))
    assert sent == []
    assert customer.version is None
    with pytest.raises(ValidationError, match="discarded"):
        tx.commit()


def test_an_empty_transaction_sends_nothing(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(shop)
    sent = sent_requests(table)
    with table.transaction() as tx:
        pass
    assert tx.state == "committed"
    assert sent == []


# -- cancellation ---------------------------------------------------------------------------


@pytest.mark.requires("transactions", "return_values_on_condition_failure")
def test_a_cancelled_transaction_writes_nothing_and_names_the_action(
    table_factory: Factory,
) -> None:
    table = table_factory(shop)
    Product(sku="s1", stock=1).save()
    tx = table.transaction()

    def actions(tx: Transaction) -> None:
        tx.put(order("o1", sku="s1"))
        tx.update(Product.key(sku="s1"), Product.stock.add(-2), condition=Product.stock >= 2)
        tx.put(order("o2", sku="s1"))

    with pytest.raises(TransactionCanceled) as err:
        run(tx, actions)
    message = str(err.value)
    assert "action 1 (Update Product {'PK': 'PRODUCT#s1', 'SK': 'PRODUCT'})" in message
    assert "ConditionalCheckFailed" in message
    assert "nothing was written" in message
    reasons: list[CancellationReason] = err.value.reasons
    assert [r.code for r in reasons] == ["None", "ConditionalCheckFailed", "None"]
    assert [r.failed for r in reasons] == [False, True, False]
    assert err.value.failures == [reasons[1]]
    failed = reasons[1]
    assert (failed.index, failed.kind, failed.key) == (1, "Update", Product.key(sku="s1"))
    assert failed.item == Product(sku="s1", stock=1, version=1)
    assert not failed.version_conflict
    assert reasons[0].target is tx.actions[0].target
    # No partial write.
    assert Order.get(customer_id="c1", order_id="o1") is None
    assert Order.get(customer_id="c1", order_id="o2") is None
    assert Product.get(sku="s1", consistent=True) == Product(sku="s1", stock=1, version=1)
    assert tx.state == "failed"


@pytest.mark.requires("transactions", "return_values_on_condition_failure")
def test_a_stale_version_is_reported_as_a_version_conflict(table_factory: Factory) -> None:
    table = table_factory(shop)
    mine = Customer(customer_id="c1", name="Ann")
    mine.save()
    theirs = Customer.get(customer_id="c1", consistent=True)
    assert theirs is not None
    theirs.name = "Anne"
    theirs.save()
    mine.name = "Annie"
    with pytest.raises(TransactionCanceled) as err, table.transaction() as tx:
        tx.put(mine)
    (reason,) = err.value.reasons
    assert reason.version_conflict
    assert reason.item == theirs
    assert "(version conflict)" in str(err.value)
    assert mine.version == 1  # unchanged: the commit failed


@pytest.mark.requires("transactions")
def test_no_oversell_under_contention(table_factory: Factory) -> None:
    table = table_factory(shop)
    Product(sku="hot", stock=10).save()
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(buyer: int) -> None:
        start.wait()
        try:
            with table.transaction() as tx:
                tx.update(
                    Product.key(sku="hot"), Product.stock.add(-1), condition=Product.stock >= 1
                )
                tx.put(Order(customer_id=f"b{buyer}", order_id="o1", sku="hot"))
            outcome = "bought"
        except TransactionCanceled as exc:
            outcome = exc.reasons[0].code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("bought") == 10
    assert set(outcomes) - {"bought"} <= {"ConditionalCheckFailed", "TransactionConflict"}
    stored = Product.get(sku="hot", consistent=True)
    assert stored is not None
    assert stored.stock == 0
    assert stored.version == 11  # each successful buyer incremented the version exactly once
    orders = [Order.get(customer_id=f"b{i}", order_id="o1", consistent=True) for i in range(20)]
    assert sum(o is not None for o in orders) == 10


# -- idempotency ----------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_a_lost_response_is_retried_with_the_same_token(table_factory: Factory) -> None:
    table = table_factory(shop)
    tokens: list[str] = []

    def record(attempt: Attempt) -> None:
        tokens.append(attempt.params["ClientRequestToken"])

    policy = RetryPolicy(max_attempts=3, base_delay=0.001)
    with hooked(table, "before-send", record, operation="TransactWriteItems"):
        tx = table.transaction(token="once", policy=policy)
        with FaultInjector(lost_response=1.0, limit=1).install(table) as faults:
            run(tx, lambda tx: tx.put(order("o1", note="hello")))
    assert faults.stats.lost_responses == 1
    assert tokens == ["once", "once"]
    assert tx.state == "committed"
    assert Order.get(customer_id="c1", order_id="o1") == order("o1", note="hello")


@pytest.mark.requires("transactions")
def test_a_transaction_still_in_progress_is_retried(table_factory: Factory) -> None:
    table = table_factory(shop)
    policy = RetryPolicy(max_attempts=3, base_delay=0.001)
    busy = FaultInjector(throttle=1.0, limit=1, throttle_code="TransactionInProgressException")
    with busy.install(table) as faults, table.transaction(policy=policy) as tx:
        tx.put(order("o1"))
    assert faults.stats.throttled == 1
    assert tx.state == "committed"
    assert Order.get(customer_id="c1", order_id="o1") == order("o1")


@pytest.mark.requires("transactions")
def test_an_unknown_outcome_says_how_to_resolve_it(table_factory: Factory) -> None:
    table = table_factory(shop)
    policy = RetryPolicy(max_attempts=2, base_delay=0.001)
    tx = table.transaction(token="t-1", policy=policy)
    with FaultInjector(lost_response=1.0).install(table), pytest.raises(EndpointUnavailable) as err:
        run(tx, lambda tx: tx.put(order("o1")))
    assert "re-send the same actions with this token" in "".join(err.value.__notes__)
    assert tx.state == "failed"


@pytest.mark.requires("transactions", "idempotent_transactions")
def test_the_token_applies_a_retried_transaction_once(table_factory: Factory) -> None:
    table = table_factory(shop)
    Product(sku="s1", stock=10).save()
    tx = table.transaction(token="buy-once")
    with FaultInjector(lost_response=1.0, limit=1).install(table):
        run(tx, lambda tx: tx.update(Product.key(sku="s1"), Product.stock.add(-1)))
    stored = Product.get(sku="s1", consistent=True)
    assert stored is not None
    assert stored.stock == 9


# -- transact_get ---------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_transact_get_returns_typed_entities_in_order(table_factory: Factory) -> None:
    table = table_factory(shop)
    Product(sku="s1", stock=3).save()
    Customer(customer_id="c1", name="Ann").save()
    keys = [
        Customer.key(customer_id="c1"),
        Product.key(sku="missing"),
        Product.key(sku="s1"),
        Customer.key(customer_id="c1"),
    ]
    got = table.transact_get(keys)
    assert got == [
        Customer(customer_id="c1", name="Ann", version=1),
        None,
        Product(sku="s1", stock=3, version=1),
        Customer(customer_id="c1", name="Ann", version=1),
    ]
    # moto ignores ProjectionExpression in TransactGetItems; the request carries it all the same.
    (partial,) = table.transact_get([Product.key(sku="s1")], select=[Product.stock])
    assert isinstance(partial, Product)
    assert (partial.sku, partial.stock) == ("s1", 3)


def test_transact_get_refuses_more_than_100_keys(table_factory: Factory) -> None:
    table = table_factory(shop)
    with pytest.raises(ValidationError, match="at most 100"):
        table.transact_get([Product.key(sku=f"s{i}") for i in range(101)])
    assert table.transact_get([]) == []
