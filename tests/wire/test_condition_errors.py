"""Failed conditions tell the truth: the right class, the botocore error as ``__cause__``, and no
claim about the stored item that was not observed (on servers that return it and those that
do not)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import hooked, requests_sent

from dynaorm import (
    ConditionFailed,
    ConfigurationError,
    Entity,
    Index,
    Key,
    Table,
    TransactionCanceled,
    VersionAttribute,
    VersionConflict,
)
from dynaorm.wire.hooks import Attempt, hooks_for

Factory = Callable[[Table], Table]

accounts = Table("test-condition-errors", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Account(Entity, table=accounts):
    account_id = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")


class Note(Entity, table=accounts):
    note_id = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")


@pytest.fixture(params=["as served", "item withheld"])
def withheld(request: pytest.FixtureRequest, table_factory: Factory) -> Iterator[bool]:
    """Run each test as the server answers, and again with the stored item stripped from every
    failed-condition response (as dynalite, which ignores ReturnValuesOnConditionCheckFailure,
    answers)."""
    table = table_factory(accounts)
    strip = request.param == "item withheld"

    hooks = hooks_for(table.transport.client)
    if strip:
        hooks.register("after-call", withhold)
    try:
        yield strip
    finally:
        if strip:
            hooks.unregister("after-call", withhold)


def withhold(attempt: Attempt, parsed: dict[str, Any]) -> None:
    """Drop the stored item from a failed condition's error response."""
    if "Error" in parsed:
        parsed.pop("Item", None)


def test_a_second_first_save_is_a_version_conflict(withheld: bool) -> None:
    Account(account_id="a1", balance=5).save()
    with pytest.raises(VersionConflict) as caught:
        Account(account_id="a1", balance=9).save()
    conflict = caught.value
    assert conflict.expected is None
    assert isinstance(conflict.item, Account)
    assert (conflict.item.balance, conflict.item.version) == (5, 1)
    # What was seen, and how: sent back with the failure (where the server does), or read.
    assert re.search(
        r"but (the stored item has|a consistent read after the failure found) version 1",
        str(conflict),
    )
    if withheld:
        assert "a consistent read after the failure found version 1" in str(conflict)
    assert isinstance(conflict.__cause__, ClientError)
    assert conflict.__cause__.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_a_stale_update_and_delete_are_version_conflicts(withheld: bool) -> None:
    mine = Account(account_id="a1")
    mine.save()
    theirs = Account.get(account_id="a1", consistent=True)
    assert theirs is not None
    theirs.update(Account.balance.add(3))
    for write in (lambda: mine.update(Account.balance.add(1)), mine.delete, mine.save):
        with pytest.raises(VersionConflict) as caught:
            write()
        assert caught.value.expected == 1
        assert isinstance(caught.value.item, Account)
        assert caught.value.item.version == 2
        assert isinstance(caught.value.__cause__, ClientError)


def test_a_write_to_a_deleted_item_says_the_read_found_none(withheld: bool) -> None:
    mine = Account(account_id="a1")
    mine.save()
    stale = Account.get(account_id="a1", consistent=True)
    assert stale is not None
    mine.delete()
    with pytest.raises(VersionConflict) as caught:
        stale.update(Account.balance.add(1))
    assert caught.value.item is None
    assert "a consistent read after the failure found no stored item" in str(caught.value)
    assert "is missing" not in str(caught.value)


def test_a_false_condition_is_a_plain_condition_failure(withheld: bool) -> None:
    account = Account(account_id="a1", balance=1)
    account.save()
    with pytest.raises(ConditionFailed) as caught:
        account.update(Account.balance.add(1), condition=Account.balance > 5)
    assert type(caught.value) is ConditionFailed
    assert isinstance(caught.value.item, Account)
    assert isinstance(caught.value.__cause__, ClientError)
    assert account.version == 1

    note = Note(note_id="n1", text="x")
    note.save()
    with pytest.raises(ConditionFailed) as failed:
        note.save(condition=Note.text == "y")
    assert type(failed.value) is ConditionFailed
    assert isinstance(failed.value.item, Note)
    assert failed.value.item.text == "x"
    assert isinstance(failed.value.__cause__, ClientError)


def test_a_condition_on_a_missing_item_is_confirmed_by_a_read(withheld: bool) -> None:
    with requests_sent(accounts) as sent, pytest.raises(ConditionFailed) as caught:
        Note.update_by_key(
            Note.key(note_id="nope"), Note.text.set("t"), condition=Note.text.exists()
        )
    assert caught.value.item is None
    assert "a consistent read after the failure found no stored item" in str(caught.value)
    assert "there is no stored item" not in str(caught.value)
    assert sent == ["UpdateItem", "GetItem"]


def test_when_the_read_after_a_failure_fails_too_the_message_says_so(
    table_factory: Factory,
) -> None:
    table = table_factory(accounts)
    Account(account_id="a1").save()

    def refuse_reads(attempt: Attempt) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no reads"}}, "GetItem"
        )

    with (
        hooked(table, "after-call", withhold, operation="PutItem"),
        hooked(table, "before-send", refuse_reads, operation="GetItem"),
        pytest.raises(ConditionFailed) as caught,
    ):
        Account(account_id="a1").save()
    assert type(caught.value) is ConditionFailed  # not claimed to be a conflict: not observed
    assert "did not return the stored item, and reading it failed" in str(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)


@pytest.mark.requires("transactions")
def test_a_cancelled_transaction_keeps_the_botocore_error(table_factory: Factory) -> None:
    table = table_factory(accounts)
    Account(account_id="a1").save()
    with pytest.raises(TransactionCanceled) as caught, table.transaction() as tx:
        tx.put(Account(account_id="a1"))
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.__cause__.response["Error"]["Code"] == "TransactionCanceledException"


def test_a_key_on_an_index_the_table_lacks_names_entity_and_template() -> None:
    table = Table("test-no-such-index")
    with pytest.raises(ConfigurationError) as caught:

        class Stray(Entity, table=table):
            stray_id = UnicodeAttribute()
            primary = Key(pk="STRAY#{stray_id}", sk="STRAY")
            by_other = Key(index="GSI9", pk="OTHER#{stray_id}", sk="STRAY")

    message = str(caught.value)
    assert "Stray.by_other" in message
    assert "pk='OTHER#{stray_id}'" in message
    assert "has no index 'GSI9'" in message
