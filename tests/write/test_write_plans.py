"""Write plans: ``compile()`` is exactly what ``execute()`` sends, plans never change the
instance, and a write changes it only once it succeeded (a conflict, a failed condition or an
interruption leaves it exactly as it was)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import bodies_sent, hooked, requests_sent

from dynaorm import (
    ConditionFailed,
    CreatedAtAttribute,
    Entity,
    Index,
    Key,
    Table,
    TableNotFound,
    UpdatedAtAttribute,
    ValidationError,
    VersionAttribute,
    VersionConflict,
    WritePlan,
)
from dynaorm.wire.hooks import Attempt

Factory = Callable[[Table], Table]

bank = Table("test-write-plans", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Account(Entity, table=bank):
    account_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    version = VersionAttribute()
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")
    recent = Key(index="GSI1", pk="ACCOUNTS", sk="{updated}")


class Tag(Entity, table=bank):
    tag_id = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    uses = NumberAttribute(default=0)
    primary = Key(pk="TAG#{tag_id}", sk="TAG")


def snapshot(entity: Entity) -> dict[str, Any]:
    return copy.deepcopy(dict(entity.attribute_values))


@pytest.fixture
def table(table_factory: Factory) -> Iterator[Table]:
    return table_factory(bank)


PlanMaker = Callable[[], WritePlan[Any]]


def _plans() -> list[Any]:
    """(id, set-up, plan maker): every kind of plan, on stored items."""

    def first_save() -> PlanMaker:
        account = Account(account_id="new", owner="ada")
        return lambda: account.save_plan(condition=Account.owner.does_not_exist())

    def later_save() -> PlanMaker:
        account = Account(account_id="a1", owner="ada")
        account.save()
        account.balance = 10
        return lambda: account.save_plan(condition=Account.balance < 100)

    def delete() -> PlanMaker:
        account = Account(account_id="a1", owner="ada")
        account.save()
        return lambda: account.delete_plan(condition=Account.owner == "ada")

    def update() -> PlanMaker:
        account = Account(account_id="a1", owner="ada")
        account.save()
        return lambda: account.update_plan(
            Account.balance.add(5), condition=Account.balance >= 0, return_values="UPDATED_NEW"
        )

    def update_by_key() -> PlanMaker:
        Tag(tag_id="t1", label="x").save()
        return lambda: Tag.update_by_key_plan(
            Tag.key(tag_id="t1"), Tag.uses.add(1), condition=Tag.label.exists()
        )

    return [
        pytest.param(first_save, id="save-first"),
        pytest.param(later_save, id="save"),
        pytest.param(delete, id="delete"),
        pytest.param(update, id="update"),
        pytest.param(update_by_key, id="update_by_key"),
    ]


@pytest.mark.parametrize("setup", _plans())
def test_compile_is_exactly_what_execute_sends(
    table: Table, setup: Callable[[], PlanMaker]
) -> None:
    plan = setup()()
    compiled = plan.compile()
    assert compiled["TableName"] == table.name
    with bodies_sent(table) as sent:
        plan.execute()
    assert sent == [(plan.operation, compiled)]


@pytest.mark.parametrize("setup", _plans())
def test_making_and_compiling_a_plan_changes_nothing(
    table: Table, setup: Callable[[], PlanMaker]
) -> None:
    make = setup()
    plan = make()
    held = None if plan.instance is None else snapshot(plan.instance)
    with requests_sent(table) as sent:
        first = plan.compile()
        first_again = copy.deepcopy(first)
        for value in first.values():  # changing a compiled request changes nothing
            if isinstance(value, dict):
                value.clear()
        assert plan.compile() == first_again
        assert make().compile().keys() == first_again.keys()
    assert sent == []
    assert (None if plan.instance is None else snapshot(plan.instance)) == held


def test_a_transaction_item_is_the_request_without_return_values(table: Table) -> None:
    account = Account(account_id="a1", owner="ada", version=3)
    plan = account.update_plan(Account.balance.add(1))
    compiled = plan.compile()
    assert compiled.pop("ReturnValues") == "ALL_NEW"
    assert plan.transact_item() == {"Update": compiled}
    for plan, kind in ((account.save_plan(), "Put"), (account.delete_plan(), "Delete")):
        assert plan.transact_item() == {kind: plan.compile()}  # nothing to leave out


def test_only_unconditional_puts_and_deletes_make_batch_requests() -> None:
    tag = Tag(tag_id="t1")
    assert tag.save_plan().batch_request() == {"PutRequest": {"Item": tag.to_item()}}
    key = tag.item_key.to_request()
    assert tag.delete_plan().batch_request() == {"DeleteRequest": {"Key": key}}
    refused = [
        tag.save_plan(condition=Tag.label.exists()),
        Account(account_id="a1", owner="ada").save_plan(),  # the version condition
        tag.update_plan(Tag.uses.add(1)),
    ]
    for plan in refused:
        with pytest.raises(ValidationError, match="BatchWriteItem"):
            plan.batch_request()


def test_execute_applies_the_result_as_the_methods_do(table: Table) -> None:
    account = Account(account_id="a1", owner="ada")
    plan = account.save_plan()
    assert plan.operation == "PutItem"
    assert plan.expected_version is None
    assert plan.changes.version == 1
    assert set(plan.changes.stamps) == {"created", "updated"}
    assert (account.version, account.created) == (None, None)
    assert plan.execute() is None
    assert account.version == 1
    assert account.created == account.updated == plan.changes.stamps["created"]
    assert Account.get(account_id="a1", consistent=True) == account

    update = account.update_plan(Account.balance.add(5))
    assert update.operation == "UpdateItem"
    assert update.expected_version == 1
    assert update.execute() is account
    assert (account.balance, account.version) == (5, 2)
    changed = account.update_plan(Account.owner.set("bob"), return_values="UPDATED_NEW")
    result = changed.execute()
    assert result["owner"] == "bob"
    assert result["version"] == 3
    made = Tag.update_by_key_plan(Tag.key(tag_id="t9"), Tag.label.set("new")).execute()
    assert isinstance(made, Tag)
    assert made.label == "new"

    delete = account.delete_plan()
    assert delete.operation == "DeleteItem"
    assert delete.expected_version == 3
    assert delete.execute() is None
    assert Account.get(account_id="a1", consistent=True) is None


def test_a_conflicting_plan_raises_and_leaves_the_instance_as_it_was(table: Table) -> None:
    Account(account_id="a1", owner="ada").save()
    mine = Account.get(account_id="a1", consistent=True)
    theirs = Account.get(account_id="a1", consistent=True)
    assert mine is not None
    assert theirs is not None
    mine.balance = 7
    plan = mine.save_plan()
    compiled = plan.compile()
    held = snapshot(mine)
    theirs.save()
    with pytest.raises(VersionConflict) as caught:
        plan.execute()
    assert caught.value.expected == 1
    assert caught.value.item.version == 2
    assert snapshot(mine) == held  # version, timestamps, values: as they were
    assert plan.compile() == compiled

    for failing in (mine.update_plan(Account.balance.add(1)), mine.delete_plan()):
        with pytest.raises(VersionConflict):
            failing.execute()
        assert snapshot(mine) == held


def test_a_failed_condition_changes_nothing(table: Table) -> None:
    tag = Tag(tag_id="t1", label="x")
    with pytest.raises(ConditionFailed):
        tag.save_plan(condition=Tag.label.exists()).execute()
    assert snapshot(tag) == {"tag_id": "t1", "label": "x", "uses": 0}


def test_an_invalid_plan_is_refused_when_made(table: Table) -> None:
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match="owner"):
            Account(account_id="a1").save_plan()  # a required attribute unset
        with pytest.raises(ValidationError, match="primary key"):
            Tag(tag_id="t1").update_plan(Tag.tag_id.set("t2"))
        with pytest.raises(ValidationError, match="return_values"):
            Tag(tag_id="t1").update_plan(Tag.uses.add(1), return_values="ALL")  # type: ignore[call-overload]
    assert sent == []


@pytest.mark.parametrize("how", ["save", "update", "delete"])
def test_an_interrupted_write_leaves_the_instance_as_it_was(table: Table, how: str) -> None:
    account = Account(account_id="a1", owner="ada")
    account.save()
    account.balance = 3
    held = snapshot(account)
    write = {
        "save": account.save,
        "update": lambda: account.update(Account.balance.add(1)),
        "delete": account.delete,
    }[how]

    def interrupt(attempt: Attempt) -> None:
        raise KeyboardInterrupt  # as if Ctrl-C was pressed while the request was out

    with hooked(table, "before-send", interrupt), pytest.raises(KeyboardInterrupt):
        write()
    assert snapshot(account) == held
    account.save()  # still at version 1: nothing was applied
    assert account.version == 2


def test_a_plan_goes_to_the_table_it_was_made_for(table: Table) -> None:
    other = f"{table.name}-other"
    with table.override(name=other):
        plan = Tag(tag_id="t1").save_plan()
    assert plan.compile()["TableName"] == other
    with pytest.raises(TableNotFound, match=other):  # that table does not exist
        plan.execute()


# -- the item a plan writes, as a property ----------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_characters="#"), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    account_id=texts,
    owner=texts,
    balance=st.integers(-(10**12), 10**12),
    version=st.none() | st.integers(1, 1000),
)
def test_the_planned_item_is_the_instance_with_its_next_version_and_stamps(
    account_id: str, owner: str, balance: int, version: int | None
) -> None:
    values: dict[str, Any] = {"account_id": account_id, "owner": owner, "balance": balance}
    account = Account(**values) if version is None else Account(**values, version=version)
    held = snapshot(account)
    plan = account.save_plan()
    assert snapshot(account) == held
    when = plan.changes.stamps["updated"]
    assert plan.changes.stamps == {"created": when, "updated": when}
    assert plan.changes.version == (version or 0) + 1
    twin = Account(**held)
    plan.changes.apply(twin)
    assert plan.compile()["Item"] == twin.to_item()
    assert twin.version == (version or 0) + 1
    assert twin.created == twin.updated == when
    expected = "attribute_not_exists" if version is None else "="
    assert expected in plan.compile()["ConditionExpression"]
