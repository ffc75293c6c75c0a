"""The fault injector: botocore hooks only, seeded and deterministic, scoped to one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    ConditionFailed,
    EndpointUnavailable,
    Entity,
    Key,
    ServiceError,
    Table,
    Throttled,
    ValidationError,
)
from dynaorm.testing import FaultInjector, FaultInjectorFactory, FaultStats
from dynaorm.wire.retry import Retrier, RetryPolicy

Factory = Callable[[Table], Table]
ONCE = RetryPolicy(max_attempts=1)

cells = Table("test-faults-cells")
others = Table("test-faults-others")


class Cell(Entity, table=cells):
    row = UnicodeAttribute()
    col = NumberAttribute()
    primary = Key(pk="ROW#{row}", sk="COL#{col:04d}")


class Other(Entity, table=others):
    other_id = UnicodeAttribute()
    primary = Key(pk="OTHER#{other_id}", sk="OTHER")


def puts(table: Table, n: int, row: str = "r") -> dict[str, Any]:
    writes = [{"PutRequest": {"Item": Cell(row=row, col=i).to_item()}} for i in range(n)]
    return {"RequestItems": {table.name: writes}}


def keys(table: Table, n: int) -> dict[str, Any]:
    wanted = [Cell.key(row="r", col=i).to_request() for i in range(n)]
    return {"RequestItems": {table.name: {"Keys": wanted, "ConsistentRead": True}}}


def call(table: Table, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    return table.transport.call(operation, request, idempotent=True, retrier=Retrier(ONCE, "t"))


def stored(table: Table) -> int:
    response = table.call(
        "Scan",
        {"TableName": table.name, "Select": "COUNT", "ConsistentRead": True},
        idempotent=True,
    )
    return int(response["Count"])


def test_held_back_items_are_reported_and_not_written(table_factory: Factory) -> None:
    table = table_factory(cells)
    with FaultInjector(seed=5, unprocessed=0.4).install(table) as faults:
        response = call(table, "BatchWriteItem", puts(table, 25))
    back = response["UnprocessedItems"][table.name]
    assert len(back) == faults.stats.unprocessed
    assert 9 <= len(back) <= 11  # 40% of 25, rounded either way
    assert stored(table) == 25 - len(back)
    assert {b["PutRequest"]["Item"]["SK"]["S"] for b in back}.isdisjoint(
        {
            i["SK"]["S"]
            for i in table.call("Scan", {"TableName": table.name}, idempotent=True)["Items"]
        }
    )


def test_held_back_keys_keep_their_read_options(table_factory: Factory) -> None:
    table = table_factory(cells)
    call(table, "BatchWriteItem", puts(table, 20))
    with FaultInjector(seed=2, unprocessed=0.5).install(table) as faults:
        response = call(table, "BatchGetItem", keys(table, 20))
    back = response["UnprocessedKeys"][table.name]
    assert back["ConsistentRead"] is True
    assert len(back["Keys"]) == faults.stats.unprocessed > 0
    assert len(response["Responses"][table.name]) + len(back["Keys"]) == 20


@pytest.mark.parametrize(
    ("operation", "member"),
    [("BatchWriteItem", "UnprocessedItems"), ("BatchGetItem", "UnprocessedKeys")],
)
def test_everything_held_back_never_reaches_the_server(
    table_factory: Factory, sent_requests: Callable[[Table], list[str]], operation: str, member: str
) -> None:
    table = table_factory(cells)
    request = puts(table, 3) if operation == "BatchWriteItem" else keys(table, 3)
    with FaultInjector(unprocessed=1.0).install(table) as faults:
        response = call(table, operation, request)
    assert response[member] == request["RequestItems"]
    assert faults.stats == FaultStats(calls=1, faults=1, unprocessed=3, unprocessed_calls=1)
    assert stored(table) == 0


def test_throttling_and_server_errors_go_through_botocore_parsing(table_factory: Factory) -> None:
    table = table_factory(cells)
    with FaultInjector(throttle=1.0).install(table), pytest.raises(Throttled) as throttled:
        call(table, "BatchWriteItem", puts(table, 2))
    assert throttled.value.code == "ProvisionedThroughputExceededException"
    assert isinstance(throttled.value.__cause__, Exception)
    with FaultInjector(server_error=1.0).install(table), pytest.raises(ServiceError) as failed:
        call(table, "BatchWriteItem", puts(table, 2))
    assert failed.value.code == "InternalServerError"
    assert failed.value.__cause__.response["ResponseMetadata"]["HTTPStatusCode"] == 500  # type: ignore[union-attr]
    assert stored(table) == 0


def test_same_seed_same_faults_and_different_seed_different_faults(table_factory: Factory) -> None:
    table = table_factory(cells)

    def run(seed: int) -> list[int]:
        with FaultInjector(seed=seed, unprocessed=0.3).install(table):
            return [
                len(
                    call(table, "BatchWriteItem", puts(table, 25, row=str(r)))
                    .get("UnprocessedItems", {})
                    .get(table.name, [])
                )
                for r in range(10)
            ]

    first = run(11)
    assert run(11) == first
    assert run(12) != first


def test_repeated_identical_requests_draw_fresh_decisions(table_factory: Factory) -> None:
    table = table_factory(cells)
    with FaultInjector(seed=3, throttle=0.5).install(table) as faults:
        outcomes = []
        for _ in range(40):
            try:
                call(table, "BatchWriteItem", puts(table, 1))
                outcomes.append("ok")
            except Throttled:
                outcomes.append("throttled")
    assert faults.stats.throttled == outcomes.count("throttled")
    assert 8 < outcomes.count("throttled") < 32


def test_limit_operations_and_table_scope(table_factory: Factory) -> None:
    table = table_factory(cells)
    table_factory(others)
    with FaultInjector(throttle=1.0, limit=2, operations={"BatchWriteItem"}).install(table) as f:
        for _ in range(2):
            with pytest.raises(Throttled):
                call(table, "BatchWriteItem", puts(table, 1))
        call(table, "BatchWriteItem", puts(table, 1))  # past the limit
        call(table, "Scan", {"TableName": table.name})  # another operation
        Other(other_id="o").save()  # another table, same botocore client
        assert f.stats.throttled == 2
        assert f.stats.calls == 3


def test_uninstall_removes_the_hooks(table_factory: Factory) -> None:
    table = table_factory(cells)
    injector = FaultInjector(throttle=1.0).install(table)
    with pytest.raises(ValidationError, match="installed already"):
        injector.install(table)
    injector.uninstall()
    injector.uninstall()  # harmless
    call(table, "BatchWriteItem", puts(table, 1))
    assert stored(table) == 1


def test_installing_on_a_client_affects_every_table(table_factory: Factory) -> None:
    table = table_factory(cells)
    with FaultInjector(throttle=1.0).install(table.transport.client), pytest.raises(Throttled):
        call(table, "Scan", {"TableName": table.name})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"throttle": 1.5},
        {"unprocessed": -0.1},
        {"throttle": 0.6, "server_error": 0.6},
        {"server_error": 0.5, "connection_error": 0.6},
        {"lost_response": 0.5, "read_timeout": 0.6},
        {"latency": 2.0},
        {"max_delay": -1.0},
    ],
)
def test_bad_fractions_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="FaultInjector"):
        FaultInjector(**kwargs)  # type: ignore[arg-type]


# -- connection errors, read timeouts, latency -------------------------------------------------


def put_request(table: Table, col: int, *, conditional: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table.name, "Item": Cell(row="r", col=col).to_item()}
    if conditional:
        request["ConditionExpression"] = "attribute_not_exists(PK)"
    return request


def test_a_failed_connection_never_reaches_the_server(table_factory: Factory) -> None:
    table = table_factory(cells)
    with (
        FaultInjector(connection_error=1.0).install(table) as faults,
        pytest.raises(EndpointUnavailable, match="Could not connect"),
    ):
        call(table, "PutItem", put_request(table, 1))
    assert faults.stats == FaultStats(calls=1, faults=1, connection_errors=1)
    assert stored(table) == 0


def test_a_failed_connection_is_retried_even_for_a_conditional_write(
    table_factory: Factory,
) -> None:
    table = table_factory(cells)
    retrier = Retrier(RetryPolicy(max_attempts=3, base_delay=0.001), "t")
    with FaultInjector(connection_error=1.0, limit=2).install(table) as faults:
        table.transport.call(
            "PutItem", put_request(table, 1, conditional=True), idempotent=False, retrier=retrier
        )
    assert (faults.stats.connection_errors, retrier.requests) == (2, 3)
    assert stored(table) == 1


@pytest.mark.parametrize("fault", ["read_timeout", "lost_response"])
def test_a_conditional_write_whose_response_is_lost_is_not_resent(
    table_factory: Factory, fault: str
) -> None:
    table = table_factory(cells)
    retrier = Retrier(RetryPolicy(max_attempts=5, base_delay=0.001), "t")
    # Seed 2 makes the server receive the timed-out request; the write is applied once.
    injector = FaultInjector(seed=2, **{fault: 1.0})  # type: ignore[arg-type]
    with injector.install(table) as faults, pytest.raises(EndpointUnavailable):
        table.transport.call(
            "PutItem", put_request(table, 1, conditional=True), idempotent=False, retrier=retrier
        )
    assert retrier.requests == 1  # not re-sent: a retry would fail its own condition
    assert faults.stats.read_timeouts_applied + faults.stats.lost_responses == 1
    assert stored(table) == 1
    with pytest.raises(ConditionFailed):  # what a blind re-send would have run into
        call(table, "PutItem", put_request(table, 1, conditional=True))


def test_read_timeouts_happen_before_or_after_the_server_applied_the_write(
    table_factory: Factory,
) -> None:
    table = table_factory(cells)
    with FaultInjector(seed=4, read_timeout=1.0).install(table) as faults:
        for col in range(40):
            with pytest.raises(EndpointUnavailable, match="Read timeout"):
                call(table, "PutItem", put_request(table, col))
    stats = faults.stats
    assert stats.read_timeouts == 40
    assert 8 < stats.read_timeouts_applied < 32
    assert stored(table) == stats.read_timeouts_applied


def test_idempotent_requests_survive_every_kind_of_fault(table_factory: Factory) -> None:
    table = table_factory(cells)
    retrier = Retrier(RetryPolicy(max_attempts=50, base_delay=0.001, cap=0.002), "t")
    kinds = {
        "throttle": 0.15,
        "server_error": 0.15,
        "connection_error": 0.15,
        "lost_response": 0.15,
        "read_timeout": 0.15,
    }
    with FaultInjector(seed=9, **kinds).install(table) as faults:  # type: ignore[arg-type]
        for col in range(30):
            table.transport.call(
                "PutItem", put_request(table, col), idempotent=True, retrier=retrier
            )
    stats = faults.stats
    assert stored(table) == 30
    assert min(stats.throttled, stats.server_errors, stats.connection_errors) > 0
    assert min(stats.lost_responses, stats.read_timeouts) > 0
    assert stats.calls == retrier.requests == 30 + stats.faults


def test_latency_is_seeded_and_delays_without_failing(table_factory: Factory) -> None:
    table = table_factory(cells)

    def run(seed: int) -> FaultStats:
        with FaultInjector(seed=seed, latency=0.5, max_delay=0.01).install(table) as faults:
            for _ in range(20):
                call(table, "Scan", {"TableName": table.name, "Select": "COUNT"})
        return faults.stats

    first = run(1)
    assert first.faults == 0
    assert 0 < first.delayed < 20
    assert 0 < first.delay <= first.delayed * 0.01
    assert run(1) == first


def test_the_fixture_installs_and_removes(
    table_factory: Factory, fault_injector: FaultInjectorFactory
) -> None:
    table = table_factory(cells)
    faults = fault_injector(table, throttle=1.0, limit=1)
    with pytest.raises(Throttled):
        call(table, "BatchWriteItem", puts(table, 1))
    call(table, "BatchWriteItem", puts(table, 1))
    assert faults.stats.throttled == 1
