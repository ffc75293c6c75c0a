"""Transactions, transact_get, mutate and item collections give through the async API what
they give through the sync one: one scenario run through both (cancellation reasons, versions
applied only after a commit, tokens and retries, the oversell race), the same errors before
any request, cancellation that stops at once, and no thread started by the async calls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import bodies_sent, requests_sent

from dynaorm import (
    ConditionFailed,
    ConfigurationError,
    CreatedAtAttribute,
    Entity,
    ItemCollection,
    Key,
    RetryPolicy,
    Table,
    TransactionCanceled,
    UnknownEntityType,
    UnknownItem,
    UpdatedAtAttribute,
    ValidationError,
    VersionAttribute,
    VersionConflict,
    aretry_on_conflict,
    retry_on_conflict,
)
from dynaorm.bulk.transactions import Transaction

Factory = Callable[[Table], Table]
Build = Callable[[Transaction], None]

shop = Table("test-async-tx")


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    total = NumberAttribute(default=0)
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute()
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")


class Product(Entity, table=shop):
    sku = UnicodeAttribute()
    stock = NumberAttribute(default=0)
    sold = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")


class Note(Entity, table=shop):
    """Unversioned: mutate() refuses it."""

    note_id = UnicodeAttribute()
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


class SoldOut(Exception):
    pass


RACE_POLICY = RetryPolicy(max_attempts=200, base_delay=0.002, cap=0.02)


def buy(product: Product) -> None:
    if product.stock < 1:
        raise SoldOut(product.sku)
    product.stock -= 1
    product.sold += 1


class Sync:
    """The scenario's calls, the sync way."""

    name = "sync"

    def transact(self, build: Build, **options: Any) -> None:
        with shop.transaction(**options) as tx:
            build(tx)

    def transact_get(self, keys: list[Any], **options: Any) -> list[Any]:
        return shop.transact_get(keys, **options)

    def mutate(self, cls: type[Entity], fn: Callable[[Any], object], **kw: Any) -> Any:
        return cls.mutate(fn, **kw)

    def partition(self, key: Any, **kw: Any) -> ItemCollection:
        return shop.partition(key, **kw)

    def race(self, buyers: int, how: str) -> list[bool]:
        """``buyers`` concurrent buyers of one unit of product p1 (threads here)."""
        with ThreadPoolExecutor(buyers) as pool:
            return list(pool.map(lambda _: self._buy(how), range(buyers)))

    def _buy(self, how: str) -> bool:
        try:
            if how == "update":
                Product.update_by_key(
                    Product.key(sku="p1"),
                    Product.stock.add(-1),
                    Product.sold.add(1),
                    condition=Product.stock >= 1,
                )
            else:
                Product.mutate(buy, sku="p1", policy=RACE_POLICY)
        except (ConditionFailed, SoldOut):
            return False
        return True


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


class Async(Sync):
    """The same calls, awaited."""

    name = "async"

    def transact(self, build: Build, **options: Any) -> None:
        async def commit() -> None:
            async with shop.atransaction(**options) as tx:
                build(tx)

        run(commit())

    def transact_get(self, keys: list[Any], **options: Any) -> list[Any]:
        return run(shop.atransact_get(keys, **options))  # type: ignore[no-any-return]

    def mutate(self, cls: type[Entity], fn: Callable[[Any], object], **kw: Any) -> Any:
        return run(cls.amutate(fn, **kw))

    def partition(self, key: Any, **kw: Any) -> ItemCollection:
        return run(shop.apartition(key, **kw))  # type: ignore[no-any-return]

    def race(self, buyers: int, how: str) -> list[bool]:
        async def all_buyers() -> list[bool]:
            return list(await asyncio.gather(*(self._abuy(how) for _ in range(buyers))))

        return run(all_buyers())  # type: ignore[no-any-return]

    async def _abuy(self, how: str) -> bool:
        try:
            if how == "update":
                await Product.aupdate_by_key(
                    Product.key(sku="p1"),
                    Product.stock.add(-1),
                    Product.sold.add(1),
                    condition=Product.stock >= 1,
                )
            else:
                await Product.amutate(buy, sku="p1", policy=RACE_POLICY)
        except (ConditionFailed, SoldOut):
            return False
        return True


@pytest.fixture(params=[Sync(), Async()], ids=lambda api: api.name)
def api(request: pytest.FixtureRequest) -> Sync:
    found: Sync = request.param
    return found


@pytest.fixture
def tables(table_factory: Factory) -> Table:
    return table_factory(shop)


@pytest.fixture
def no_thread_from_here() -> Iterator[list[threading.Thread]]:
    """Record every thread started from the test's own thread (the async calls' loop runs
    there; the embedded server starts its threads from its own)."""
    started: list[threading.Thread] = []
    here = threading.current_thread()
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if threading.current_thread() is here:
            started.append(thread)
        original(thread)

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        yield started
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]


# -- transactions ------------------------------------------------------------------------


@pytest.mark.requires("transactions", "return_values_on_condition_failure")
def test_transaction_commits_or_cancels_with_reasons(api: Sync, tables: Table) -> None:
    Product(sku="p1", stock=2).save()
    customer = Customer(customer_id="c1", name="Ann")
    placed = Order(customer_id="c1", order_id="o1", total=5)

    def place(tx: Transaction) -> None:
        tx.update(Product.key(sku="p1"), Product.stock.add(-2), condition=Product.stock >= 2)
        tx.put(customer)
        tx.put(placed)

    assert placed.created is None
    api.transact(place, token="place-o1")
    assert (customer.version, placed.version) == (1, 1)  # applied once committed
    assert placed.created is not None
    assert placed.updated == placed.created
    assert Order.get(customer_id="c1", order_id="o1") == placed
    stored = Product.get(sku="p1")
    assert stored is not None
    assert (stored.stock, stored.version) == (0, 2)

    stale = Customer.get(customer_id="c1")
    assert stale is not None
    customer.name = "Bea"
    customer.save()  # version 2: `stale` holds 1
    second = Order(customer_id="c1", order_id="o2", total=1)

    def again(tx: Transaction) -> None:
        tx.put(second)
        tx.update(Product.key(sku="p1"), Product.stock.add(-1), condition=Product.stock >= 1)
        tx.check(stale)

    with pytest.raises(TransactionCanceled) as canceled:
        api.transact(again)
    reasons = canceled.value.reasons
    assert [r.code for r in reasons] == ["None", "ConditionalCheckFailed", "ConditionalCheckFailed"]
    assert [r.failed for r in reasons] == [False, True, True]
    assert reasons[1].item == stored
    assert reasons[2].version_conflict
    assert reasons[2].item.version == 2
    assert second.version is None  # nothing applied to the instances
    assert second.created is None
    assert second.updated is None
    assert Order.get(customer_id="c1", order_id="o2") is None


def test_transaction_errors_before_any_request(api: Sync, tables: Table) -> None:
    with requests_sent(shop) as sent:
        with pytest.raises(ValidationError, match="ClientRequestToken"):
            api.transact(lambda tx: None, token="x" * 37)

        def twice(tx: Transaction) -> None:
            tx.put(Product(sku="p1"))
            tx.delete(Product.key(sku="p1"))

        with pytest.raises(ValidationError, match="one action per item"):
            api.transact(twice)

        def bad(tx: Transaction) -> None:
            tx.put(Order(customer_id="c1", order_id="o1", total=float("nan")))

        with pytest.raises(ValidationError):
            api.transact(bad)
        api.transact(lambda tx: None)  # nothing to send
    assert sent == []


def test_a_block_that_raises_sends_nothing(api: Sync, tables: Table) -> None:
    def fails(tx: Transaction) -> None:
        tx.put(Product(sku="p1"))
        raise KeyError("the caller's own error")

    with requests_sent(shop) as sent, pytest.raises(KeyError):
        api.transact(fails)
    assert sent == []


@pytest.mark.requires("transactions")
def test_a_throttled_commit_is_retried_with_its_token(
    api: Sync, tables: Table, fault_injector: Callable[..., Any]
) -> None:
    shop.retry_policy = RetryPolicy(max_attempts=30, base_delay=0.001, cap=0.01)
    try:
        faults = fault_injector(
            shop, seed=5, throttle=0.6, operations={"TransactWriteItems"}, limit=3
        )
        with bodies_sent(shop) as sent:
            api.transact(lambda tx: tx.put(Product(sku="p9", stock=1)), token="t-p9")
        assert faults.stats.faults > 0  # throttled answers, then the one that reached the server
        assert [(op, body["ClientRequestToken"]) for op, body in sent] == [
            ("TransactWriteItems", "t-p9")
        ]
        assert Product.get(sku="p9") is not None
    finally:
        shop.retry_policy = None


def test_an_async_transaction_is_not_a_sync_one(tables: Table) -> None:
    with pytest.raises(TypeError, match="async with"), shop.atransaction():
        pass


def test_cancelling_a_commit_stops_at_once(
    tables: Table, fault_injector: Callable[..., Any]
) -> None:
    fault_injector(shop, seed=1, throttle=1.0)
    tx = shop.atransaction(policy=RetryPolicy(max_attempts=50, base_delay=5.0, jitter=False))

    async def commit() -> None:
        async with asyncio.timeout(0.2):
            async with tx:
                tx.put(Product(sku="p1"))

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run(commit())
    assert time.monotonic() - started < 2.0
    assert tx.state == "failed"  # sent, outcome unknown: not reusable


# -- transact_get ---------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_transact_get(api: Sync, tables: Table) -> None:
    Customer(customer_id="c1", name="Ann").save()
    Order(customer_id="c1", order_id="o1", total=3).save()
    keys = [
        Customer.key(customer_id="c1"),
        Order.key(customer_id="c1", order_id="o1"),
        Order.key(customer_id="c1", order_id="missing"),
        Customer.key(customer_id="c1"),
    ]
    customer, order, missing, again = api.transact_get(keys)
    assert isinstance(customer, Customer)
    assert customer.name == "Ann"
    assert isinstance(order, Order)
    assert order.total == 3
    assert missing is None
    assert again == customer
    assert again is not customer
    (partial,) = api.transact_get([Order.key(customer_id="c1", order_id="o1")], select=["total"])
    assert partial.total == 3
    assert api.transact_get([]) == []
    with requests_sent(shop) as sent, pytest.raises(ValidationError, match="at most 100"):
        api.transact_get([Product.key(sku=f"p{n}") for n in range(101)])
    assert sent == []


# -- mutate and the oversell race ---------------------------------------------------------


def test_mutate(api: Sync, tables: Table) -> None:
    Product(sku="p1", stock=3).save()
    changed = api.mutate(Product, buy, sku="p1")
    assert (changed.stock, changed.sold, changed.version) == (2, 1, 2)
    stored = Product.get(sku="p1")
    assert stored == changed

    lost: list[int] = []

    def with_a_rival(product: Product) -> None:
        if not lost:  # another writer saves between this read and the save
            rival = Product.get(sku="p1")
            assert rival is not None
            rival.stock += 10
            rival.save()
        buy(product)

    result = api.mutate(Product, with_a_rival, sku="p1", on_conflict=lambda exc, n: lost.append(n))
    assert lost == [1]
    assert (result.stock, result.sold) == (11, 2)

    with requests_sent(shop) as sent:
        with pytest.raises(ConfigurationError, match="VersionAttribute"):
            api.mutate(Note, lambda note: None, note_id="n1")
        with pytest.raises(ValidationError):
            api.mutate(Product, buy)  # no key
    assert sent == []
    with pytest.raises(UnknownEntityType, match="does not exist"):
        api.mutate(Product, buy, sku="nope")

    def always_loses(product: Product) -> None:
        rival = Product.get(sku="p1")
        assert rival is not None
        rival.save()

    with pytest.raises(VersionConflict):
        api.mutate(Product, always_loses, sku="p1", attempts=2)


def test_aretry_on_conflict_takes_the_sync_options() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise SoldOut("lost the race")
        return "placed"

    lost: list[int] = []
    result = run(
        aretry_on_conflict(attempt, retry_on=SoldOut, on_conflict=lambda e, n: lost.append(n))
    )
    assert (result, lost) == ("placed", [1, 2])
    with pytest.raises(ValidationError):
        retry_on_conflict(lambda: None, retry_on=())
    with pytest.raises(ValidationError):
        run(aretry_on_conflict(attempt, retry_on=()))


@pytest.mark.parametrize("how", ["update", "mutate"])
def test_oversell_race(api: Sync, tables: Table, how: str) -> None:
    Product(sku="p1", stock=10).save()
    outcomes = api.race(20, how)
    assert outcomes.count(True) == 10
    stored = Product.get(sku="p1", consistent=True)
    assert stored is not None
    assert (stored.stock, stored.sold) == (0, 10)


# -- item collections -----------------------------------------------------------------------


def test_partition(api: Sync, tables: Table) -> None:
    Customer(customer_id="c1", name="Ann").save()
    for n in range(1, 4):
        Order(customer_id="c1", order_id=f"o{n}", total=n).save()
    shop.call(
        "PutItem",
        {"TableName": shop.name, "Item": {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "ZZZ"}}},
        idempotent=True,
    )
    result = api.partition(Customer.primary, customer_id="c1", consistent=True)
    assert result == shop.partition(Customer.primary, customer_id="c1", consistent=True)
    assert result.first(Customer) is not None
    assert [o.order_id for o in result[Order]] == ["o1", "o2", "o3"]
    assert len(result.unknown) == 1
    assert isinstance(result.unknown[0], UnknownItem)
    only = api.partition(Customer.primary, customer_id="c1", types=[Order])
    assert len(only[Order]) == 3
    assert only.first(Customer) is None
    with requests_sent(shop) as sent:
        with pytest.raises(ValidationError):
            api.partition(Customer.primary, customer="c1")
        with pytest.raises(ValidationError):
            api.partition(Product.primary, customer_id="c1", types=[int])  # type: ignore[list-item]
    assert sent == []
    with pytest.raises(UnknownEntityType):
        api.partition(Customer.primary, customer_id="c1", strict=True)


# -- no thread ---------------------------------------------------------------------------


@pytest.mark.requires("transactions")
def test_the_async_calls_start_no_thread(
    tables: Table, no_thread_from_here: list[threading.Thread]
) -> None:
    Product(sku="p1", stock=10).save()
    before = set(threading.enumerate())

    async def scenario() -> None:
        async with shop.atransaction() as tx:
            tx.put(Customer(customer_id="c1", name="Ann"))
        await shop.atransact_get([Customer.key(customer_id="c1")])
        await Product.amutate(buy, sku="p1")
        await shop.apartition(Customer.primary, customer_id="c1")
        await asyncio.gather(*(Async()._abuy("update") for _ in range(5)))

    run(scenario())
    assert no_thread_from_here == []
    assert not {t for t in threading.enumerate() if t.name.startswith("dynaorm")} - before


@pytest.mark.requires("transactions")
def test_the_same_requests_go_on_the_wire(tables: Table) -> None:
    Product(sku="p1", stock=1).save()

    def scenario(api: Sync) -> None:
        def actions(tx: Transaction) -> None:
            tx.put(Note(note_id="n1"))
            tx.update(Product.key(sku="p1"), Product.stock.add(1), condition=Product.stock >= 1)
            tx.check(Customer.key(customer_id="c1"), Customer.name.does_not_exist())

        api.transact(actions, token="same-token")
        api.transact_get([Note.key(note_id="n1"), Product.key(sku="p1")], select=["stock"])
        api.partition(Customer.primary, customer_id="c1", types=[Order], consistent=True)

    with bodies_sent(shop) as sync_sent:
        scenario(Sync())
    with bodies_sent(shop) as async_sent:
        scenario(Async())
    assert [operation for operation, _ in sync_sent] == [
        "TransactWriteItems",
        "TransactGetItems",
        "Query",
    ]
    assert async_sent == sync_sent
