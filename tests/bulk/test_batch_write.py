"""table.batch_write(): 25-item requests, retries under the policy, faults, and failures."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    BatchIncomplete,
    BatchProgress,
    BatchWriter,
    CreatedAtAttribute,
    Entity,
    ItemKey,
    Key,
    RetryPolicy,
    Table,
    TableNotFound,
    Throttled,
    UpdatedAtAttribute,
    ValidationError,
    VersionAttribute,
)
from dynaorm.faults import FaultInjector

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]
FAST = RetryPolicy(max_attempts=30, base_delay=0.001, cap=0.01)

store = Table("test-batch-write")
elsewhere = Table("test-batch-write-elsewhere")


class Reading(Entity, table=store):
    sensor = UnicodeAttribute()
    seq = NumberAttribute()
    value = NumberAttribute()
    primary = Key(pk="SENSOR#{sensor}", sk="SEQ#{seq:08d}")


class Sensor(Entity, table=store):
    sensor = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    primary = Key(pk="SENSOR#{sensor}", sk="META")


class Account(Entity, table=store):
    account_id = UnicodeAttribute()
    version = VersionAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")


class Stamped(Entity, table=store):
    stamp_id = UnicodeAttribute()
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute()
    primary = Key(pk="STAMPED#{stamp_id}", sk="STAMPED")


class Foreign(Entity, table=elsewhere):
    foreign_id = UnicodeAttribute()
    primary = Key(pk="F#{foreign_id}", sk="F")


def reading(i: int, value: int = 0, sensors: int = 500) -> Reading:
    return Reading(sensor=f"s{i % sensors}", seq=i, value=value or i)


def write_all(
    batch: BatchWriter, writes: Iterable[Entity | ItemKey], then: Exception | None = None
) -> None:
    """Run ``batch`` as a block that puts the entities and deletes the keys, then raises
    ``then`` if given."""
    with batch:
        for write in writes:
            if isinstance(write, ItemKey):
                batch.delete(write)
            else:
                batch.put(write)
        if then is not None:
            raise then


def count(table: Table) -> int:
    """Items in the table, by a paginated ``Select=COUNT`` scan."""
    total, start = 0, None
    while True:
        request: dict[str, Any] = {"TableName": table.name, "Select": "COUNT", "Limit": 2_500}
        if start:
            request["ExclusiveStartKey"] = start
        response = table.call("Scan", request, idempotent=True)
        total += int(response["Count"])
        start = response.get("LastEvaluatedKey")
        if not start:
            return total


def scan_all(table: Table) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = None
    while True:
        request: dict[str, Any] = {"TableName": table.name}
        if start:
            request["ExclusiveStartKey"] = start
        response = table.call("Scan", request, idempotent=True)
        items += response["Items"]
        start = response.get("LastEvaluatedKey")
        if not start:
            return items


# -- volume ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_ten_thousand_items_all_present_none_extra(table_factory: Factory, workers: int) -> None:
    table = table_factory(store)
    started = time.monotonic()
    with table.batch_write(workers=workers) as batch:
        for i in range(10_000):
            batch.put(reading(i))
    elapsed = time.monotonic() - started
    result = batch.result
    assert (result.puts, result.deletes, result.requests, result.retries) == (10_000, 0, 400, 0)
    assert result.unprocessed == ()
    assert result.consumed_capacity > 0
    # 10,000 distinct keys were written and the table holds 10,000 items: all there, no extra.
    assert count(table) == 10_000
    sample = [Reading.key(sensor=f"s{i % 500}", seq=i) for i in range(0, 10_000, 97)]
    assert [r.seq for r in table.batch_get(sample)] == list(range(0, 10_000, 97))  # type: ignore[union-attr]
    print(f"10,000 puts, workers={workers}: {elapsed:.2f}s")


# -- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_unprocessed_and_throttled_nothing_lost_nothing_duplicated(
    table_factory: Factory, workers: int
) -> None:
    table = table_factory(store)
    n = 2_000
    writes: list[Entity | ItemKey] = [reading(i, value=i * 3, sensors=50) for i in range(n)]
    writes += [Reading.key(sensor=f"s{i % 50}", seq=i) for i in range(0, n, 10)]
    batch = table.batch_write(workers=workers, policy=FAST)
    with FaultInjector(seed=42, unprocessed=0.3, throttle=0.1).install(table) as faults:
        write_all(batch, writes)
    result = batch.result
    stats = faults.stats
    # Every write applied exactly once.
    assert (result.puts, result.deletes) == (n, n // 10)
    assert result.unprocessed == ()
    # What the batch counted is what was injected.
    assert result.requests == stats.calls
    assert result.throttles == stats.throttled > 0
    assert result.unprocessed_returns == stats.unprocessed > 0
    first_sends = (n + n // 10 + 24) // 25
    assert result.retries == result.requests - first_sends > 0
    # Nothing lost, nothing extra, nothing stale.
    stored = {int(i["seq"]["N"]): int(i["value"]["N"]) for i in scan_all(table)}
    assert stored == {i: i * 3 for i in range(n) if i % 10}
    print(f"workers={workers}: {result}, {stats}")


def test_same_faults_and_retries_whatever_the_number_of_workers(table_factory: Factory) -> None:
    table = table_factory(store)
    seen = []
    for workers in (1, 4):
        batch = table.batch_write(workers=workers, policy=FAST)
        with FaultInjector(seed=9, unprocessed=0.3, throttle=0.1).install(table) as faults:
            write_all(batch, [reading(i) for i in range(500)])
        seen.append((batch.result.requests, batch.result.retries, faults.stats))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("workers", [1, 4])
def test_all_unprocessed_raises_with_exactly_the_unsent_entities(
    table_factory: Factory, workers: int, caplog: pytest.LogCaptureFixture
) -> None:
    table = table_factory(store)
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, cap=0.002)
    handed: list[Entity | ItemKey] = []

    def writes() -> Iterator[Entity | ItemKey]:
        for i in range(60):
            write = reading(i) if i % 3 else Reading.key(sensor="x", seq=i)
            handed.append(write)
            yield write

    batch = table.batch_write(workers=workers, policy=policy)
    with (
        FaultInjector(unprocessed=1.0).install(table),
        caplog.at_level(logging.WARNING, logger="dynaorm"),
        pytest.raises(BatchIncomplete) as err,
    ):
        write_all(batch, writes())
    unprocessed = err.value.unprocessed
    assert len(unprocessed) == len(handed)
    assert {id(u) for u in unprocessed if isinstance(u, Entity)} == {
        id(h) for h in handed if isinstance(h, Entity)
    }
    assert {u for u in unprocessed if isinstance(u, ItemKey)} == {
        h for h in handed if isinstance(h, ItemKey)
    }
    assert list(batch.result.unprocessed) == unprocessed
    assert batch.result.puts == batch.result.deletes == 0
    assert count(table) == 0
    assert "giving up after 3 attempt(s)" in caplog.text
    assert "ran out" in str(err.value)


def test_unprocessed_raised_at_the_end_of_the_block(table_factory: Factory) -> None:
    table = table_factory(store)
    policy = RetryPolicy(max_attempts=2, base_delay=0.001)
    entities = [reading(i) for i in range(10)]
    batch = table.batch_write(policy=policy)
    with FaultInjector(unprocessed=1.0).install(table), pytest.raises(BatchIncomplete) as err:
        write_all(batch, entities)
    assert err.value.unprocessed == entities
    assert batch.result.requests == 2


def test_throttled_past_the_policy_keeps_the_cause(table_factory: Factory) -> None:
    table = table_factory(store)
    policy = RetryPolicy(max_attempts=2, base_delay=0.001)
    batch = table.batch_write(policy=policy)
    with FaultInjector(throttle=1.0).install(table), pytest.raises(BatchIncomplete) as err:
        write_all(batch, [reading(1)])
    assert isinstance(err.value.__cause__, Throttled)
    assert batch.result.throttles == 2


def test_an_error_retrying_cannot_fix_is_raised_as_itself(table_factory: Factory) -> None:
    table = table_factory(store)
    entities = [reading(i) for i in range(30)]
    table.delete()
    batch = table.batch_write()
    with pytest.raises(TableNotFound):
        write_all(batch, entities)
    assert list(batch.result.unprocessed) == entities[:25]


# -- same key, block raising, progress ------------------------------------------------------


def test_the_later_write_of_a_key_wins_within_a_request(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(store)
    sent = sent_requests(table)
    with table.batch_write() as batch:
        batch.put(Sensor(sensor="a", label="first"))
        batch.put(Sensor(sensor="a", label="second"))
        batch.put(Sensor(sensor="b", label="kept"))
        batch.delete(Sensor(sensor="b"))
        batch.delete(Sensor.key(sensor="c"))
        batch.put(Sensor(sensor="c", label="back"))
    assert sent == ["BatchWriteItem"]
    assert batch.result.superseded == 3
    assert (batch.result.puts, batch.result.deletes) == (2, 1)
    assert Sensor.get(sensor="a") == Sensor(sensor="a", label="second")
    assert Sensor.get(sensor="b") is None
    assert Sensor.get(sensor="c") == Sensor(sensor="c", label="back")


@pytest.mark.parametrize("workers", [1, 4])
def test_the_later_write_wins_across_requests(table_factory: Factory, workers: int) -> None:
    table = table_factory(store)
    with table.batch_write(workers=workers) as batch:
        for round_ in range(8):
            batch.put(Sensor(sensor="hot", label=str(round_)))
            for i in range(30):  # more than a request, so "hot" goes out 8 times
                batch.put(reading(round_ * 100 + i))
    assert batch.result.puts == 8 * 31
    assert Sensor.get(sensor="hot", consistent=True) == Sensor(sensor="hot", label="7")


@pytest.mark.parametrize("workers", [1, 4])
def test_if_the_block_raises_nothing_more_is_sent(
    table_factory: Factory, sent_requests: Recorder, workers: int
) -> None:
    table = table_factory(store)
    sent = sent_requests(table)
    entities = [reading(i) for i in range(60)]
    answered = threading.Semaphore(0)
    batch = table.batch_write(workers=workers, progress=lambda _: answered.release())

    def block() -> None:
        with batch:
            for entity in entities:
                batch.put(entity)
            # With several workers, full requests go out in the background: the block raises
            # once both have been answered, so what "flushed before" means does not race.
            assert answered.acquire(timeout=60)
            assert answered.acquire(timeout=60)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        block()
    assert sent.count("BatchWriteItem") == 2  # the two full requests flushed before
    assert batch.result.puts == 50
    assert list(batch.result.unprocessed) == entities[50:]
    assert count(table) == 50
    with pytest.raises(ValidationError, match="finished"):
        batch.put(reading(99))


def test_progress_reports_after_every_request(table_factory: Factory) -> None:
    table = table_factory(store)
    reports: list[BatchProgress] = []
    puts_seen: list[int] = []

    def progress(report: BatchProgress) -> None:
        reports.append(report)
        puts_seen.append(batch.result.puts)  # reading the result from the callback is fine

    batch = table.batch_write(workers=3, policy=FAST, progress=progress)
    with FaultInjector(seed=4, unprocessed=0.3).install(table):
        # The last write replaces a buffered one: 290 writes in all.
        write_all(batch, [reading(i) for i in range(290)] + [reading(289, value=7)])
    assert len(reports) == batch.result.requests
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert puts_seen == [r.done for r in reports]
    last = reports[-1]
    assert (last.operation, last.done, last.total) == ("batch_write", 290, 290)
    assert batch.result.superseded == 1
    assert (last.requests, last.retries) == (batch.result.requests, batch.result.retries)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_raising_progress_callback_stops_the_batch(table_factory: Factory, workers: int) -> None:
    table = table_factory(store)

    def progress(report: BatchProgress) -> None:
        if report.done >= 50:
            raise KeyboardInterrupt

    batch = table.batch_write(workers=workers, progress=progress)
    with pytest.raises(KeyboardInterrupt):
        write_all(batch, [reading(i) for i in range(200)])
    assert count(table) == batch.result.puts < 200
    with pytest.raises(ValidationError, match="finished"):
        batch.put(reading(1))


# -- refused before anything is sent --------------------------------------------------------


def test_versioned_entities_are_refused_pointing_to_transactions(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(store)
    sent = sent_requests(table)
    with table.batch_write() as batch:
        with pytest.raises(ValidationError, match=r"versioned.*transaction"):
            batch.put(Account(account_id="a"))
        with pytest.raises(ValidationError, match="versioned"):
            batch.delete(Account.key(account_id="a"))
    assert sent == []


def test_unconditional_writes_of_versioned_entities(table_factory: Factory) -> None:
    table = table_factory(store)
    Account(account_id="gone").save()
    with table.batch_write() as batch:
        batch.put(Account(account_id="a", version=7), unconditional=True)
        batch.delete(Account.key(account_id="gone"), unconditional=True)
    assert Account.get(account_id="a") == Account(account_id="a", version=7)
    assert Account.get(account_id="gone") is None


def test_puts_set_timestamps_unless_unconditional(table_factory: Factory) -> None:
    table = table_factory(store)
    fresh = Stamped(stamp_id="a")
    kept = Stamped(stamp_id="b", created=datetime(2020, 1, 1, tzinfo=UTC))
    with table.batch_write() as batch:
        batch.put(fresh)
        batch.put(kept, unconditional=True)
    assert fresh.created is not None
    assert fresh.updated == fresh.created
    assert Stamped.get(stamp_id="a") == fresh
    assert Stamped.get(stamp_id="b") == Stamped(
        stamp_id="b", created=datetime(2020, 1, 1, tzinfo=UTC)
    )


def test_invalid_writes_are_refused_before_any_request(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(store)
    sent = sent_requests(table)
    with table.batch_write() as batch:
        with pytest.raises(ValidationError, match="limited to"):
            batch.put(Sensor(sensor="big", label="x" * 410_000))
        with pytest.raises(ValidationError, match="not an entity of table"):
            batch.put(Foreign(foreign_id="f"))
        with pytest.raises(ValidationError, match="ItemKey"):
            batch.delete("SENSOR#a")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="takes an entity"):
            batch.put({"PK": "x"})  # type: ignore[arg-type]
    assert sent == []
    with pytest.raises(ValidationError, match="workers"):
        table.batch_write(workers=0)


def test_an_empty_batch_sends_nothing(table_factory: Factory, sent_requests: Recorder) -> None:
    table = table_factory(store)
    sent = sent_requests(table)
    with table.batch_write() as batch:
        pass
    assert sent == []
    assert batch.result.requests == 0
