"""Optimistic locking against the server: versions on updates, read-modify-write retried on
conflicts, lost updates without a version, and conditional decrements under contention."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    ConditionFailed,
    ConfigurationError,
    Entity,
    Key,
    RetryPolicy,
    Table,
    ValidationError,
    VersionAttribute,
    VersionConflict,
    retry_on_conflict,
)

Factory = Callable[[Table], Table]

STORED_ITEM_ON_FAILURE = pytest.mark.requires("return_values_on_condition_failure")

counters = Table("test-versioning")


class Counter(Entity, table=counters):
    name = UnicodeAttribute()
    value = NumberAttribute(default=0)
    label = UnicodeAttribute(null=True)
    version = VersionAttribute()
    primary = Key(pk="COUNTER#{name}", sk="COUNTER")


class PlainCounter(Entity, table=counters):
    name = UnicodeAttribute()
    value = NumberAttribute(default=0)
    primary = Key(pk="PLAIN#{name}", sk="COUNTER")


class Product(Entity, table=counters):
    sku = UnicodeAttribute()
    stock = NumberAttribute()
    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")


FAST = RetryPolicy(max_attempts=200, base_delay=0.01, cap=0.2)


# -- versions on updates ---------------------------------------------------------------------


def test_update_conditions_on_the_version_and_increments_it(table_factory: Factory) -> None:
    table_factory(counters)
    counter = Counter(name="c", value=1)
    counter.save()
    assert counter.version == 1
    counter.update(Counter.value.add(1))
    assert (counter.value, counter.version) == (2, 2)
    counter.update(Counter.label.set("x"), return_values="NONE")
    assert counter.version == 3
    stored = Counter.get(name="c", consistent=True)
    assert stored == counter


def test_a_stale_update_is_a_version_conflict(table_factory: Factory) -> None:
    table_factory(counters)
    Counter(name="c").save()
    mine = Counter.get(name="c", consistent=True)
    theirs = Counter.get(name="c", consistent=True)
    assert mine is not None
    assert theirs is not None
    theirs.update(Counter.value.add(10))
    with pytest.raises(
        VersionConflict,
        match=r"Counter .*COUNTER#c.*expected version 1, but .* version 2; another writer",
    ) as caught:
        mine.update(Counter.value.add(1))
    assert caught.value.expected == 1
    assert caught.value.operation == "UpdateItem"
    assert isinstance(caught.value.item, Counter)
    assert (caught.value.item.value, caught.value.item.version) == (10, 2)
    assert (mine.value, mine.version) == (0, 1)  # untouched by the failed update
    theirs.delete()
    with pytest.raises(
        VersionConflict, match="a consistent read after the failure found no stored item"
    ) as gone:
        mine.update(Counter.value.add(1))
    assert gone.value.item is None


def test_a_failed_condition_with_the_right_version_is_not_a_conflict(
    table_factory: Factory,
) -> None:
    table_factory(counters)
    counter = Counter(name="c", value=1)
    counter.save()
    with pytest.raises(ConditionFailed) as caught:
        counter.update(Counter.value.add(1), condition=Counter.value > 5)
    assert type(caught.value) is ConditionFailed
    assert counter.version == 1


def test_update_by_key_increments_the_version_unconditionally(table_factory: Factory) -> None:
    table_factory(counters)
    key = Counter.key(name="c")
    created = Counter.update_by_key(key, Counter.value.add(1))
    assert (created.value, created.version) == (1, 1)
    holder = Counter.get(name="c", consistent=True)
    assert holder is not None
    again = Counter.update_by_key(key, Counter.value.add(1))
    assert again.version == 2
    with pytest.raises(VersionConflict):  # the holder's version 1 is stale now
        holder.update(Counter.label.set("late"))


# -- read-modify-write -----------------------------------------------------------------------


def increment(counter: Counter) -> None:
    counter.value += 1


def test_mutate_reads_applies_and_saves(table_factory: Factory) -> None:
    table_factory(counters)
    Counter(name="c", value=41).save()
    saved = Counter.mutate(increment, name="c")
    assert (saved.value, saved.version) == (42, 2)
    assert Counter.get(name="c", consistent=True) == saved


def test_mutate_retries_conflicts_and_gives_up_with_the_last_one(
    table_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    table_factory(counters)
    Counter(name="c").save()
    conflicts: list[int] = []

    def always_loses(counter: Counter) -> None:
        Counter.update_by_key(Counter.key(name="c"), Counter.label.set("someone else"))
        counter.value += 1

    with (
        caplog.at_level(logging.INFO, logger="dynaorm"),
        pytest.raises(VersionConflict) as caught,
    ):
        Counter.mutate(
            always_loses,
            attempts=3,
            policy=RetryPolicy(base_delay=0.001),
            on_conflict=lambda exc, attempt: conflicts.append(attempt),
            name="c",
        )
    assert conflicts == [1, 2, 3]
    assert caught.value.expected == 3  # the version read on the last attempt
    retries = [r for r in caplog.records if "version conflict on attempt" in r.getMessage()]
    assert len(retries) == 2
    assert "giving up after 3 attempt(s)" in caplog.records[-1].getMessage()
    stored = Counter.get(name="c", consistent=True)
    assert stored is not None
    assert stored.value == 0


def test_mutate_refuses_unversioned_entities_and_missing_items(table_factory: Factory) -> None:
    table_factory(counters)
    with pytest.raises(ConfigurationError, match=r"PlainCounter\.mutate needs a VersionAttribute"):
        PlainCounter.mutate(lambda c: None, name="c")
    with pytest.raises(LookupError, match="does not exist"):
        Counter.mutate(increment, name="missing")


def test_retry_on_conflict_returns_the_result_and_propagates_other_errors() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise VersionConflict("lost", expected=1)
        return "done"

    assert retry_on_conflict(flaky, policy=RetryPolicy(base_delay=0.001)) == "done"
    assert len(calls) == 3

    def broken() -> None:
        raise ValidationError("bad")

    with pytest.raises(ValidationError):
        retry_on_conflict(broken)
    with pytest.raises(ValidationError, match="max_attempts must be at least 1"):
        retry_on_conflict(flaky, attempts=0)


# -- contention ------------------------------------------------------------------------------

THREADS = 8
INCREMENTS = 25


def _contend(worker: Callable[[int], None], threads: int) -> None:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker, i) for i in range(threads)]:
            future.result()


def run_versioned_increments(threads: int, increments: int) -> tuple[int, int]:
    """Every thread increments the counter through mutate(); returns (final, conflicts)."""
    Counter(name="hot").save()
    conflicts = 0
    lock = threading.Lock()
    # The first read of every thread happens before any of them writes: conflicts are certain.
    start = threading.Barrier(threads, timeout=30)
    first = threading.local()

    def add_one(counter: Counter) -> None:
        if not getattr(first, "done", False):
            first.done = True
            start.wait()
        counter.value += 1

    def counted(exc: VersionConflict, attempt: int) -> None:
        nonlocal conflicts
        with lock:
            conflicts += 1

    def worker(_: int) -> None:
        for _ in range(increments):
            Counter.mutate(add_one, policy=FAST, on_conflict=counted, name="hot")

    _contend(worker, threads)
    final = Counter.get(name="hot", consistent=True)
    assert final is not None
    assert final.version == increments * threads + 1
    return int(final.value), conflicts


def run_unversioned_increments(threads: int, increments: int) -> int:
    """The same without a version: plain read-modify-write saves; returns the final value."""
    PlainCounter(name="hot").save()
    barrier = threading.Barrier(threads, timeout=30)

    def worker(_: int) -> None:
        for round_ in range(increments):
            counter = PlainCounter.get(name="hot", consistent=True)
            assert counter is not None
            if round_ == 0:
                barrier.wait()  # everyone has read 0 before anyone writes
            time.sleep(0.001)
            counter.value += 1
            counter.save()

    _contend(worker, threads)
    final = PlainCounter.get(name="hot", consistent=True)
    assert final is not None
    return int(final.value)


def test_versioned_increments_under_contention_are_all_kept(table_factory: Factory) -> None:
    table_factory(counters)
    final, conflicts = run_versioned_increments(THREADS, INCREMENTS)
    assert final == THREADS * INCREMENTS == 200
    assert conflicts >= THREADS - 1


def test_without_a_version_concurrent_increments_are_lost(table_factory: Factory) -> None:
    table_factory(counters)
    final = run_unversioned_increments(THREADS, INCREMENTS)
    assert final < THREADS * INCREMENTS
    assert final <= THREADS * INCREMENTS - (THREADS - 1)  # the first round alone loses 7


def run_stock_decrements(threads: int, stock: int, take: int) -> tuple[int, int, int]:
    """Threads take ``take`` units until the condition fails; returns (final, taken, refused)."""
    Product(sku="s1", stock=stock).save()
    key = Product.key(sku="s1")
    taken = refused = 0
    lock = threading.Lock()
    start = threading.Barrier(threads, timeout=30)

    def worker(i: int) -> None:
        nonlocal taken, refused
        start.wait()
        while True:
            try:
                if i % 2:
                    action = Product.stock.add(-take)
                else:
                    action = Product.stock.set(Product.stock - take)
                after = Product.update_by_key(key, action, condition=Product.stock >= take)
            except ConditionFailed:
                with lock:
                    refused += 1
                return
            assert after.stock >= 0
            with lock:
                taken += take

    _contend(worker, threads)
    final = Product.get(sku="s1", consistent=True)
    assert final is not None
    return int(final.stock), taken, refused


def test_conditional_stock_decrement_never_goes_negative(table_factory: Factory) -> None:
    table_factory(counters)
    final, taken, refused = run_stock_decrements(threads=10, stock=100, take=3)
    assert final == 1
    assert taken == 99
    assert refused == 10


# -- heavier variants (make stress) ----------------------------------------------------------


@pytest.mark.stress
def test_stress_versioned_increments(table_factory: Factory) -> None:
    table_factory(counters)
    final, conflicts = run_versioned_increments(16, 30)
    assert final == 480
    assert conflicts >= 15


@pytest.mark.stress
def test_stress_unversioned_increments_lose_updates(table_factory: Factory) -> None:
    table_factory(counters)
    assert run_unversioned_increments(16, 30) < 480


@pytest.mark.stress
def test_stress_stock_decrements(table_factory: Factory) -> None:
    table_factory(counters)
    final, taken, refused = run_stock_decrements(threads=40, stock=1000, take=7)
    assert (final, taken, refused) == (1000 % 7, 1000 - 1000 % 7, 40)
