"""``retry_on_conflict(retry_on=...)``: retrying lost races the application names itself, e.g. a
transaction cancelled because another writer changed a versioned item first."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    ConditionFailed,
    Entity,
    Key,
    RetryPolicy,
    Table,
    TransactionCanceled,
    ValidationError,
    VersionAttribute,
    VersionConflict,
    retry_on_conflict,
)

Factory = Callable[[Table], Table]

QUICK = RetryPolicy(max_attempts=5, base_delay=0.001, cap=0.002)

accounts = Table("test-retry-on-conflict")


class Account(Entity, table=accounts):
    account_id = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")


class LostRace(Exception):
    """What the tests' read-modify-writes raise when another writer won."""


class LostRaceAgain(LostRace):
    pass


def losing(times: int, error: Callable[[], Exception]) -> tuple[Callable[[], str], list[int]]:
    """A function raising ``error()`` on its first ``times`` calls, then returning "won"."""
    calls: list[int] = []

    def fn() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            raise error()
        return "won"

    return fn, calls


def test_retry_on_retries_the_named_types_and_their_subclasses() -> None:
    fn, calls = losing(3, lambda: LostRaceAgain("someone else was faster"))
    seen: list[tuple[str, int]] = []
    result = retry_on_conflict(
        fn,
        policy=QUICK,
        retry_on=LostRace,
        on_conflict=lambda exc, attempt: seen.append((str(exc), attempt)),
    )
    assert result == "won"
    assert calls == [1, 2, 3, 4]
    assert seen == [("someone else was faster", attempt) for attempt in (1, 2, 3)]


def test_retry_on_replaces_the_default_unless_it_is_named_too() -> None:
    fn, calls = losing(1, lambda: VersionConflict("stale", expected=1))
    with pytest.raises(VersionConflict):
        retry_on_conflict(fn, policy=QUICK, retry_on=LostRace)
    assert calls == [1]  # not retried: only LostRace was named
    errors: list[Callable[[], Exception]] = [
        lambda: VersionConflict("stale", expected=1),
        lambda: LostRace(),
    ]
    calls.clear()

    def both() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise errors[len(calls) - 1]()
        return "won"

    assert retry_on_conflict(both, policy=QUICK, retry_on=(VersionConflict, LostRace)) == "won"
    assert len(calls) == 3


def test_other_errors_propagate_at_once() -> None:
    fn, calls = losing(1, lambda: ConditionFailed("not a race"))
    with pytest.raises(ConditionFailed, match="not a race"):
        retry_on_conflict(fn, policy=QUICK, retry_on=(LostRace, VersionConflict))
    assert calls == [1]  # ConditionFailed is VersionConflict's base, not a subclass


def test_giving_up_re_raises_the_last_one_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    raised: list[LostRace] = []

    def error() -> LostRace:
        raised.append(LostRace(f"lost #{len(raised) + 1}"))
        return raised[-1]

    fn, calls = losing(100, error)
    with caplog.at_level(logging.INFO, logger="dynaorm"), pytest.raises(LostRace) as caught:
        retry_on_conflict(fn, attempts=3, policy=QUICK, retry_on=LostRace)
    assert calls == [1, 2, 3]
    assert caught.value is raised[-1]
    messages = [r.getMessage() for r in caplog.records if r.name == "dynaorm"]
    assert [m.split(" (")[0] for m in messages[:2]] == [
        "conflict on attempt 1",
        "conflict on attempt 2",
    ]
    assert "LostRace('lost #1')" in messages[0]
    assert messages[-1] == "conflict: giving up after 3 attempt(s): LostRace('lost #3')"
    assert caplog.records[-1].levelno == logging.WARNING


@pytest.mark.parametrize(
    ("retry_on", "error", "match"),
    [
        ((), ValidationError, "would retry nothing"),
        (KeyboardInterrupt, TypeError, "takes Exception subclasses"),
        ((LostRace, "LostRace"), TypeError, "got 'LostRace'"),
        (LostRace(), TypeError, "takes Exception subclasses"),
    ],
)
def test_retry_on_takes_exception_classes_only(
    retry_on: object, error: type[Exception], match: str
) -> None:
    fn, calls = losing(0, LostRace)
    with pytest.raises(error, match=match):
        retry_on_conflict(fn, retry_on=retry_on)  # type: ignore[call-overload]
    assert calls == []  # refused before the first call


@pytest.mark.requires("transactions")
def test_a_transaction_cancelled_by_a_version_conflict_is_retried_from_a_fresh_read(
    table_factory: Factory,
) -> None:
    """A transfer reads both accounts and writes both under their versions in one transaction;
    a rival deposit between the read and the commit cancels it, and the retry starts over."""
    table_factory(accounts)
    Account(account_id="a", balance=100).save()
    Account(account_id="b", balance=0).save()
    reads: list[int] = []

    def transfer() -> tuple[Account, Account]:
        source = Account.get(account_id="a", consistent=True)
        target = Account.get(account_id="b", consistent=True)
        assert source is not None
        assert target is not None
        reads.append(int(source.balance))
        if len(reads) == 1:  # a rival deposit lands between our read and our commit
            Account.mutate(lambda a: setattr(a, "balance", a.balance + 5), account_id="a")
        try:
            with accounts.transaction() as tx:
                tx.update(source, Account.balance.set(source.balance - 30))
                tx.update(target, Account.balance.set(target.balance + 30))
        except TransactionCanceled as exc:
            if any(reason.version_conflict for reason in exc.reasons):
                raise LostRace("an account changed since it was read") from exc
            raise
        return source, target

    lost: list[int] = []
    retry_on_conflict(
        transfer, policy=QUICK, retry_on=LostRace, on_conflict=lambda _, n: lost.append(n)
    )
    assert reads == [100, 105]
    assert lost == [1]
    stored = {a.account_id: (a.balance, a.version) for a in Account.scan()}
    assert stored == {"a": (75, 3), "b": (30, 2)}
