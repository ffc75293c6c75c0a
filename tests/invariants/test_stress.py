"""Heavier invariant runs under the ``stress`` marker: ``make stress`` (skipped by ``make test``).

Counts are fixed, and every wait is bounded (thread joins, retry deadlines), so a run ends in
bounded time even when something is wrong. Figures are reported as in
``test_invariants_faults.py`` (``pytest -s`` or ``DYNAORM_FIGURES``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from test_invariants_faults import PROFILES, Row, ledger, report, stored_rows

from dynaorm import (
    ConditionFailed,
    EndpointUnavailable,
    Entity,
    Key,
    RetryPolicy,
    Table,
    TransactionCanceled,
    VersionAttribute,
    VersionConflict,
)
from dynaorm.testing import FaultInjectorFactory

pytestmark = pytest.mark.stress

Factory = Callable[[Table], Table]

JOIN_TIMEOUT = 120.0  # seconds a thread may take before the test fails instead of hanging
CONTENDED = RetryPolicy(max_attempts=400, base_delay=0.002, cap=0.05, deadline=90.0)
PATIENT = RetryPolicy(max_attempts=40, base_delay=0.001, cap=0.01, deadline=60.0)

shop = Table("test-stress")


class Counter(Entity, table=shop):
    name = UnicodeAttribute()
    value = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="COUNTER#{name}", sk="COUNTER")


class Product(Entity, table=shop):
    sku = UnicodeAttribute()
    stock = NumberAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")


class Order(Entity, table=shop):
    sku = UnicodeAttribute()
    buyer = UnicodeAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="ORDER#{buyer}")


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Start ``count`` threads at once, wait for them (bounded), re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(count, timeout=JOIN_TIMEOUT)

    def body(i: int) -> None:
        try:
            start.wait()
            target(i)
        except BaseException as exc:  # collected and re-raised on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a worker thread did not finish in time"
    if errors:
        raise errors[0]


def test_versioned_increments_are_never_lost(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    table = table_factory(shop)
    threads, increments = 16, 40
    Counter(name="hot").save()
    conflicts = 0
    lock = threading.Lock()

    def counted(exc: VersionConflict, attempt: int) -> None:
        nonlocal conflicts
        with lock:
            conflicts += 1

    def add_one(counter: Counter) -> None:
        counter.value += 1

    def worker(_: int) -> None:
        for _ in range(increments):
            Counter.mutate(add_one, attempts=400, policy=CONTENDED, on_conflict=counted, name="hot")

    counting = fault_injector(table)  # no faults: it only counts the requests
    run_threads(threads, worker)
    counting.uninstall()
    final = Counter.get(name="hot", consistent=True)
    assert final is not None
    assert final.value == threads * increments == 640
    assert final.version == threads * increments + 1
    report(
        "stress_versioned_increments",
        counting.stats,
        1,
        increments=threads * increments,
        conflicts=conflicts,
        threads=threads,
    )


def test_conditional_decrements_never_oversell(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    table = table_factory(shop)
    buyers, stock = 50, 20
    Product(sku="hot", stock=stock).save()
    sold: list[int] = []
    lock = threading.Lock()

    def buy(buyer: int) -> None:
        try:
            Product.update_by_key(
                Product.key(sku="hot"), Product.stock.add(-1), condition=Product.stock >= 1
            )
        except ConditionFailed:
            return
        with lock:
            sold.append(buyer)

    counting = fault_injector(table)
    run_threads(buyers, buy)
    counting.uninstall()
    final = Product.get(sku="hot", consistent=True)
    assert final is not None
    assert (final.stock, len(sold)) == (0, stock)
    report("stress_conditional_decrements", counting.stats, 1, buyers=buyers, sold=len(sold))


@pytest.mark.requires("transactions")
def test_transactions_never_oversell_under_lost_responses(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    table = table_factory(shop)
    buyers, stock = 50, 20
    Product(sku="hot", stock=stock).save()
    faults = fault_injector(
        table, seed=21, lost_response=0.1, read_timeout=0.1, throttle=0.05,
        operations={"TransactWriteItems"},
    )  # fmt: skip
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def buy(buyer: int) -> None:
        outcome = "committed"
        for _ in range(20):  # a buyer that lost to a concurrent transaction tries again
            try:
                with table.transaction(policy=PATIENT) as tx:
                    tx.update(
                        Product.key(sku="hot"), Product.stock.add(-1), condition=Product.stock >= 1
                    )
                    tx.put(
                        Order(sku="hot", buyer=f"b{buyer}"), condition=Order.buyer.does_not_exist()
                    )
                break
            except TransactionCanceled as exc:
                codes = {r.code for r in exc.reasons}
                outcome = "sold out" if "ConditionalCheckFailed" in codes else "conflict"
                if outcome == "sold out":
                    break
            except EndpointUnavailable:
                outcome = "unknown"
                break
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    run_threads(buyers, buy)
    faults.uninstall()
    final = Product.get(sku="hot", consistent=True)
    assert final is not None
    orders = Order.query(sku="hot").consistent().all()
    assert final.stock >= 0
    assert len(orders) == stock - final.stock
    assert outcomes.get("committed", 0) <= len(orders) <= stock
    report(
        "stress_transactions_no_oversell",
        faults.stats,
        len(orders) + 1,
        buyers=buyers,
        outcomes=outcomes,
    )


def test_a_20000_item_batch_under_mixed_faults(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    table = table_factory(ledger)
    items = 20_000
    faults = fault_injector(table, seed=20_000, **PROFILES["mix"])
    with table.batch_write(workers=8, policy=PATIENT) as batch:
        for n in range(items):
            batch.put(Row(bucket=str(n % 64), n=n, payload=f"v{n}"))
    faults.uninstall()
    written = faults.stats
    assert batch.result.unprocessed == ()
    assert batch.result.puts == items
    stored = stored_rows(table)
    expected = {(f"BUCKET#{n % 64}", f"ROW#{n:06d}"): f"v{n}" for n in range(items)}
    assert stored == expected
    keys = [Row.key(bucket=str(n % 64), n=n) for n in range(0, items, 7)]
    faults = fault_injector(table, seed=7, **PROFILES["mix"])
    got = table.batch_get(keys, consistent=True, workers=4, policy=PATIENT)
    faults.uninstall()
    assert [(r.n, r.payload) if isinstance(r, Row) else None for r in got] == [
        (n, f"v{n}") for n in range(0, items, 7)
    ]
    report("stress_batch_write_20000[mix]", written, items)
    report("stress_batch_get_2858[mix]", faults.stats, len(keys))
