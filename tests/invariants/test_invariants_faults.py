"""Invariants under injected faults, checked against what the server actually stores.

Every test injects seeded faults (``dynaorm.testing.fault_injector``), runs a batch or a
transaction through the public API, then reads the table back with raw, consistent ``Scan``
requests (no faults, no dynaorm decoding) and compares it with what must be there.

Each test reports its figures (requests seen by the injector, faults injected, items checked)
on stdout (``pytest -s``) and, when ``DYNAORM_FIGURES`` names a file, appends them to it as JSON
lines; docs/reliability.md quotes them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    EndpointUnavailable,
    Entity,
    Key,
    RetryPolicy,
    ServiceError,
    Table,
    TransactionCanceled,
    VersionAttribute,
)
from dynaorm.testing import FaultInjectorFactory, FaultStats

Factory = Callable[[Table], Table]

# Enough attempts that a request survives a long run of bad luck at these fault rates
# (0.4 ** 40 is about 1e-16), with tiny sleeps so the suite stays fast.
PATIENT = RetryPolicy(max_attempts=40, base_delay=0.001, cap=0.01)

ledger = Table("test-invariants")


class Row(Entity, table=ledger):
    bucket = UnicodeAttribute()
    n = NumberAttribute()
    payload = UnicodeAttribute()
    primary = Key(pk="BUCKET#{bucket}", sk="ROW#{n:06d}")


class Stock(Entity, table=ledger):
    sku = UnicodeAttribute()
    units = NumberAttribute()
    primary = Key(pk="STOCK#{sku}", sk="STOCK")


class Sale(Entity, table=ledger):
    sku = UnicodeAttribute()
    buyer = UnicodeAttribute()
    primary = Key(pk="STOCK#{sku}", sk="SALE#{buyer}")


class Account(Entity, table=ledger):
    account_id = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")


# Fault profiles: one kind at a time, then all of them at once.
PROFILES: dict[str, dict[str, float]] = {
    "throttle": {"throttle": 0.3},
    "server_error": {"server_error": 0.3},
    "connection_error": {"connection_error": 0.3},
    "read_timeout": {"read_timeout": 0.3},
    "lost_response": {"lost_response": 0.3},
    "unprocessed": {"unprocessed": 0.4},
    "latency": {"latency": 0.5, "max_delay": 0.005},
    "mix": {
        "throttle": 0.08,
        "server_error": 0.08,
        "connection_error": 0.08,
        "read_timeout": 0.08,
        "lost_response": 0.08,
        "unprocessed": 0.3,
        "latency": 0.2,
        "max_delay": 0.005,
    },
}


def report(test: str, stats: FaultStats, items: int, **extra: Any) -> dict[str, Any]:
    """Print (and with ``DYNAORM_FIGURES``, append) one test's figures."""
    figures = {
        "test": test,
        "server": "external" if os.environ.get("DYNAORM_TEST_ENDPOINT") else "embedded",
        "operations": stats.calls,
        "faults": stats.faults,
        "throttled": stats.throttled,
        "server_errors": stats.server_errors,
        "connection_errors": stats.connection_errors,
        "read_timeouts": stats.read_timeouts,
        "lost_responses": stats.lost_responses,
        "unprocessed": stats.unprocessed,
        "delayed": stats.delayed,
        "items_checked": items,
        **extra,
    }
    print(f"\nFIGURES {json.dumps(figures)}")
    path = os.environ.get("DYNAORM_FIGURES")
    if path:
        with _figures_lock, open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(figures) + "\n")
    return figures


_figures_lock = threading.Lock()


def scan_all(table: Table) -> Iterator[dict[str, Any]]:
    """Every stored item, by raw consistent Scan requests (no faults are installed then)."""
    request: dict[str, Any] = {"TableName": table.name, "ConsistentRead": True}
    while True:
        response = table.call("Scan", request, idempotent=True)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def stored_rows(table: Table) -> dict[tuple[str, str], str]:
    """(PK, SK) -> payload of every stored Row; fails on a key seen twice."""
    rows: dict[tuple[str, str], str] = {}
    for item in scan_all(table):
        if not item["PK"]["S"].startswith("BUCKET#"):
            continue
        key = (item["PK"]["S"], item["SK"]["S"])
        assert key not in rows, f"{key} returned twice"
        rows[key] = item["payload"]["S"]
    return rows


def row(n: int, payload: str) -> Row:
    return Row(bucket=str(n % 16), n=n, payload=payload)


def raw_key(n: int) -> tuple[str, str]:
    return (f"BUCKET#{n % 16}", f"ROW#{n:06d}")


def write_and_check(
    table: Table,
    fault_injector: FaultInjectorFactory,
    *,
    seed: int,
    faults: dict[str, float],
    items: int,
    workers: int,
) -> tuple[FaultStats, int]:
    """Puts, deletes and overwrites under faults; returns the stats and the items checked.

    * rows ``0 .. items-1`` are put; rows ``0 .. items/10`` are put twice, the second time
      in a later request, so a stale re-send of the first would show as the old payload;
    * ``items/5`` older rows (numbered from ``items``) exist beforehand and are deleted.
    """
    doomed = range(items, items + items // 5)
    with table.batch_write(workers=4) as setup:
        for n in doomed:
            setup.put(row(n, "old"))
    twice = range(items // 10)
    injector = fault_injector(table, seed=seed, **faults)
    with table.batch_write(workers=workers, policy=PATIENT) as batch:
        for n in twice:
            batch.put(row(n, "first"))
        for n in range(items):
            batch.put(row(n, f"final-{n}"))
            if n < len(doomed):
                batch.delete(Row.key(bucket=str(doomed[n] % 16), n=doomed[n]))
    injector.uninstall()
    stats = injector.stats
    result = batch.result
    assert result.unprocessed == ()
    assert result.deletes == len(doomed)
    assert result.puts + result.superseded == items + len(twice)
    expected = {raw_key(n): f"final-{n}" for n in range(items)}
    actual = stored_rows(table)
    missing = expected.keys() - actual.keys()
    extra = actual.keys() - expected.keys()
    assert not missing, f"{len(missing)} rows lost, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} rows that should not exist, e.g. {sorted(extra)[:3]}"
    stale = {k for k, v in actual.items() if v != expected[k]}
    assert not stale, f"{len(stale)} rows with a stale payload, e.g. {sorted(stale)[:3]}"
    return stats, len(expected) + len(doomed)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_batch_write_loses_and_duplicates_nothing(
    table_factory: Factory, fault_injector: FaultInjectorFactory, profile: str
) -> None:
    table = table_factory(ledger)
    faults = PROFILES[profile]
    stats, checked = write_and_check(
        table, fault_injector, seed=len(profile), faults=faults, items=1000, workers=4
    )
    report(f"batch_write[{profile}]", stats, checked)
    if profile != "latency":
        assert stats.faults > 0
    else:
        assert stats.delayed > 0


@pytest.mark.parametrize("profile", list(PROFILES))
def test_batch_get_returns_exactly_the_requested_keys(
    table_factory: Factory, fault_injector: FaultInjectorFactory, profile: str
) -> None:
    table = table_factory(ledger)
    with table.batch_write(workers=4) as batch:
        for n in range(0, 2000, 2):  # even rows exist, odd ones do not
            batch.put(row(n, f"p{n}"))
    # Every row of 0..1999 once, then 500 of them again: duplicates and misses mixed in.
    wanted = [*range(2000), *range(0, 2000, 4)]
    keys = [Row.key(bucket=str(n % 16), n=n) for n in wanted]
    injector = fault_injector(table, seed=len(profile), **PROFILES[profile])
    got = table.batch_get(keys, consistent=True, workers=3, policy=PATIENT)
    injector.uninstall()
    assert len(got) == len(wanted)
    for n, entity in zip(wanted, got, strict=True):
        if n % 2:
            assert entity is None, f"row {n} does not exist but was returned"
        else:
            assert isinstance(entity, Row)
            assert (entity.n, entity.payload) == (n, f"p{n}")
    stats = injector.stats
    report(f"batch_get[{profile}]", stats, len(wanted))
    if profile != "latency":
        assert stats.faults > 0


@pytest.mark.parametrize("profile", ["lost_response", "read_timeout", "connection_error", "mix"])
def test_a_versioned_write_with_an_unknown_outcome_is_never_applied_twice(
    table_factory: Factory, fault_injector: FaultInjectorFactory, profile: str
) -> None:
    """A versioned save is conditional, so dynaorm never re-sends it blindly after its
    response was lost or the server failed (HTTP 500): the caller gets ``EndpointUnavailable``
    or ``ServiceError`` and re-reads. Failed connections (never sent) and throttling are
    retried. Every applied save increments balance and version
    together, exactly once."""
    table = table_factory(ledger)
    Account(account_id="a").save()
    faults = fault_injector(table, seed=len(profile), operations={"PutItem"}, **PROFILES[profile])
    told_ok = unknown = 0
    for _ in range(60):
        account = Account.get(account_id="a", consistent=True)
        assert account is not None
        account.balance += 1
        try:
            account.save()
            told_ok += 1
        except EndpointUnavailable:
            unknown += 1
        except ServiceError as exc:  # a 5xx may hide an applied write: not retried either
            if type(exc) is not ServiceError or exc.code != "InternalServerError":
                raise
            unknown += 1
    faults.uninstall()
    final = Account.get(account_id="a", consistent=True)
    assert final is not None
    assert final.version == final.balance + 1  # one version step per applied increment
    assert told_ok <= final.balance <= told_ok + unknown
    if profile != "connection_error":
        assert unknown > 0
    else:
        assert (unknown, final.balance) == (0, 60)
    report(
        f"versioned_save[{profile}]", faults.stats, 1, told_ok=told_ok, unknown=unknown,
        applied=int(final.balance),
    )  # fmt: skip


@pytest.mark.requires("transactions")
def test_conditional_transactions_never_oversell_when_responses_are_lost(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    """Lost responses and read timeouts make dynaorm re-send transactions (with their token).

    A server that ignores the token applies a re-sent transaction again unless a condition
    stops it; here the sale's ``attribute_not_exists`` condition does, so whatever the server
    does with tokens, units sold equal sales recorded and stock never goes below zero.
    """
    table = table_factory(ledger)
    Stock(sku="hot", units=20).save()
    faults = fault_injector(
        table, seed=11, lost_response=0.25, read_timeout=0.25, throttle=0.1, latency=0.3,
        max_delay=0.003, operations={"TransactWriteItems"},
    )  # fmt: skip
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def buy(buyer: int) -> None:
        try:
            with table.transaction(policy=PATIENT) as tx:
                tx.update(Stock.key(sku="hot"), Stock.units.add(-1), condition=Stock.units >= 1)
                tx.put(Sale(sku="hot", buyer=f"b{buyer}"), condition=Sale.buyer.does_not_exist())
            outcome = "committed"
        except TransactionCanceled:
            outcome = "canceled"
        except EndpointUnavailable:
            outcome = "unknown"
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    faults.uninstall()
    stock = Stock.get(sku="hot", consistent=True)
    assert stock is not None
    sales = [i for i in scan_all(table) if i["SK"]["S"].startswith("SALE#")]
    assert stock.units >= 0
    assert len(sales) == 20 - stock.units
    assert outcomes.get("committed", 0) <= len(sales) <= 20
    report(
        "transaction_no_oversell[lost responses]",
        faults.stats,
        len(sales) + 1,
        outcomes=outcomes,
    )


@pytest.mark.requires("transactions", "idempotent_transactions")
def test_a_transaction_retried_with_its_token_is_applied_once(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    """Unconditional increments: only the token stops a re-send from applying twice."""
    table = table_factory(ledger)
    Stock(sku="counter", units=0).save()
    faults = fault_injector(
        table, seed=5, lost_response=0.3, read_timeout=0.2, operations={"TransactWriteItems"}
    )
    for i in range(50):
        with table.transaction(token=f"increment-{i}", policy=PATIENT) as tx:
            tx.update(Stock.key(sku="counter"), Stock.units.add(1))
    faults.uninstall()
    stored = Stock.get(sku="counter", consistent=True)
    assert stored is not None
    assert stored.units == 50
    assert faults.stats.lost_responses + faults.stats.read_timeouts_applied > 0
    report("transaction_token_applied_once", faults.stats, 50)
