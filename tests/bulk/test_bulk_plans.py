"""Transactions and batches build their parts from write plans: ``save()``, ``tx.put`` and
``batch.put`` write the same item for the same instance, and an instance changes only once
its write was applied (a cancelled, interrupted or unsent write leaves it as it was)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import bodies_sent, hooked, requests_sent

from dynaorm import (
    BatchProgress,
    BatchWriter,
    CreatedAtAttribute,
    Entity,
    Key,
    Table,
    TransactionCanceled,
    UpdatedAtAttribute,
    ValidationError,
    VersionAttribute,
)
from dynaorm.wire.hooks import Attempt

Factory = Callable[[Table], Table]

desk = Table("test-bulk-plans")


class Tag(Entity, table=desk):
    tag_id = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    uses = NumberAttribute(default=0)
    primary = Key(pk="TAG#{tag_id}", sk="TAG")


class Stamped(Entity, table=desk):
    stamp_id = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute()
    primary = Key(pk="STAMPED#{stamp_id}", sk="STAMPED")


class Counter(Entity, table=desk):
    name = UnicodeAttribute()
    value = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="COUNTER#{name}", sk="COUNTER")


STAMPS = ("created", "updated")


def snapshot(entity: Entity) -> dict[str, Any]:
    return copy.deepcopy(dict(entity.attribute_values))


def put_item(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """The one item a PutItem, TransactWriteItems or BatchWriteItem body writes."""
    if operation == "PutItem":
        return body["Item"]  # type: ignore[no-any-return]
    if operation == "TransactWriteItems":
        (part,) = body["TransactItems"]
        return part["Put"]["Item"]  # type: ignore[no-any-return]
    ((_, (request,)),) = body["RequestItems"].items()
    return request["PutRequest"]["Item"]  # type: ignore[no-any-return]


def written(table: Table, path: str, make: Callable[[], Entity]) -> tuple[Entity, dict[str, Any]]:
    """Write a fresh instance by ``path``; the instance and the item that was sent."""
    entity = make()
    with bodies_sent(table) as sent:
        if path == "save":
            entity.save()
        elif path == "tx.put":
            with table.transaction() as tx:
                tx.put(entity)
        else:
            with table.batch_write() as batch:
                batch.put(entity)
    ((operation, body),) = sent
    return entity, put_item(operation, body)


class Writer(Protocol):
    def put(self, entity: Any) -> None: ...


def put_all(writer: Writer, entities: list[Any]) -> None:
    """Hand every entity to a batch or a transaction."""
    for entity in entities:
        writer.put(entity)


def stamp_text(entity: Entity, name: str) -> dict[str, str]:
    return {"S": type(entity).get_attributes()[name].serialize(getattr(entity, name))}


@pytest.mark.requires("transactions")
def test_save_tx_put_and_batch_put_write_the_same_item(table_factory: Factory) -> None:
    table = table_factory(desk)
    tag = Tag(tag_id="t1", label="same", uses=3)
    planned = tag.save_plan().compile()["Item"]
    for path in ("save", "tx.put", "batch.put"):
        _, item = written(table, path, lambda: Tag(tag_id="t1", label="same", uses=3))
        assert item == planned, path

    # Timestamps: each path stamps its own time, which the instance holds afterwards.
    items = {}
    for path in ("save", "tx.put", "batch.put"):
        entity, item = written(table, path, lambda: Stamped(stamp_id="s1", body="b"))
        for name in STAMPS:
            assert item.pop(name) == stamp_text(entity, name), (path, name)
        items[path] = item
    assert items["save"] == items["tx.put"] == items["batch.put"]

    # Versions: a save and a transaction's put of the same instance write the same version.
    Counter(name="c1", value=1).save()
    first = Counter.get(name="c1", consistent=True)
    second = Counter.get(name="c1", consistent=True)
    assert first is not None
    assert second is not None
    stored = first.to_item()
    with bodies_sent(table) as sent:
        first.save()
    table.call("PutItem", {"TableName": table.name, "Item": stored}, idempotent=True)  # back
    with bodies_sent(table) as again, table.transaction() as tx:
        tx.put(second)
    assert put_item(*sent[0]) == put_item(*again[0])
    assert first.version == second.version == 2


@pytest.mark.requires("transactions")
def test_a_transaction_action_is_its_plan_without_what_transactions_do_not_take(
    table_factory: Factory,
) -> None:
    table = table_factory(desk)
    counter = Counter(name="c1", version=4)
    with requests_sent(table) as sent:
        tx = table.transaction()  # never committed
        tx.put(Tag(tag_id="t1"))
        tx.update(counter, Counter.value.add(1))
        tx.delete(Tag.key(tag_id="t2"))
        tx.check(Counter(name="c2", version=1))
        assert tx.compile()["TransactItems"] == [{a.kind: a.request} for a in tx.actions]
    assert sent == []
    put, update, delete, check = tx.actions
    for action in (put, update, delete):
        assert action.plan is not None
        assert {action.kind: action.request} == action.plan.transact_item()
    compiled = update.plan.compile()  # type: ignore[union-attr]
    assert compiled.pop("ReturnValues") == "ALL_NEW"
    assert compiled == update.request
    assert (update.expected_version, update.new_version) == (4, 5)
    assert check.plan is None
    assert check.expected_version == 1
    assert counter.version == 4


@pytest.mark.requires("transactions")
def test_a_cancelled_or_interrupted_commit_changes_no_instance(table_factory: Factory) -> None:
    table = table_factory(desk)
    Counter(name="c1").save()
    stale = Counter(name="c1", version=7)
    fresh = Stamped(stamp_id="s1")
    held = (snapshot(stale), snapshot(fresh))
    with pytest.raises(TransactionCanceled), table.transaction() as tx:
        put_all(tx, [fresh, stale])
    assert (snapshot(stale), snapshot(fresh)) == held

    def interrupt(attempt: Attempt) -> None:
        raise KeyboardInterrupt

    with (
        hooked(table, "before-send", interrupt, operation="TransactWriteItems"),
        pytest.raises(KeyboardInterrupt),
        table.transaction() as tx,
    ):
        put_all(tx, [fresh, Counter(name="c2")])
    assert snapshot(fresh) == held[1]
    assert tx.state == "failed"


def test_a_batch_put_stamps_the_instance_only_once_applied(table_factory: Factory) -> None:
    table = table_factory(desk)
    entities = [Stamped(stamp_id=f"s{n:02d}") for n in range(30)]

    def put_then_fail(batch: BatchWriter) -> None:
        put_all(batch, entities)
        assert all(e.created is not None for e in entities[:25])  # the first request's
        assert all(e.created is None for e in entities[25:])  # buffered: not yet
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError), table.batch_write() as batch:
        put_then_fail(batch)
    applied = [e for e in entities if e not in batch.result.unprocessed]
    assert len(applied) == 25
    assert len(batch.result.unprocessed) == 5
    for entity in applied:
        assert entity.created is not None
        assert entity.updated == entity.created
        assert Stamped.get(stamp_id=entity.stamp_id, consistent=True) == entity
    for entity in batch.result.unprocessed:
        assert (entity.created, entity.updated) == (None, None)


def test_an_interrupted_batch_stamps_only_what_was_applied(table_factory: Factory) -> None:
    table = table_factory(desk)
    entities = [Stamped(stamp_id=f"s{n:02d}") for n in range(60)]

    def interrupt(report: BatchProgress) -> None:
        if report.requests == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), table.batch_write(progress=interrupt) as batch:
        put_all(batch, entities)
    assert batch.result.applied == 50
    stamped = [e for e in entities if e.created is not None]
    assert stamped == entities[:50]
    assert all((e.created, e.updated) == (None, None) for e in entities[50:])


def test_a_refused_batch_put_leaves_the_instance_as_it_was(table_factory: Factory) -> None:
    table = table_factory(desk)
    big = Stamped(stamp_id="big", body="x" * 410_000)
    with (
        requests_sent(table) as sent,
        table.batch_write() as batch,
        pytest.raises(ValidationError, match="limited to"),
    ):
        batch.put(big)
    assert sent == []
    assert (big.created, big.updated) == (None, None)
    kept = Stamped(stamp_id="kept")
    with table.batch_write() as batch:
        batch.put(kept, unconditional=True)  # written exactly as held: no stamps
    assert (kept.created, kept.updated) == (None, None)
    assert Stamped.get(stamp_id="kept", consistent=True) == kept
