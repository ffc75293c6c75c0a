"""The batch-write ledger (pure logic): every write is in exactly one class at every moment."""

from __future__ import annotations

import threading
from typing import NamedTuple

import pytest
from hypothesis import given, settings, strategies as st

from dynaorm.bulk.ledger import Entry, Ledger, State


class W(NamedTuple):
    n: int
    is_put: bool = True


def test_a_write_sent_and_unanswered_is_unknown_and_one_never_sent_is_not_applied() -> None:
    ledger: Ledger[W] = Ledger()
    sent, queued = ledger.add(W(1)), ledger.add(W(2))
    assert ledger.begin([sent])
    ledger.halt()
    assert not ledger.begin([queued])
    assert queued.state is State.PENDING
    assert ledger.split() == ([W(2)], [W(1)])


def test_no_answer_then_unprocessed_stays_unknown_until_applied() -> None:
    ledger: Ledger[W] = Ledger()
    entry = ledger.add(W(1, is_put=False))
    ledger.begin([entry])
    ledger.unanswered([entry], maybe_applied=True)
    ledger.begin([entry])
    ledger.answered([], left=[entry])
    assert ledger.split() == ([], [W(1, is_put=False)])
    ledger.begin([entry])
    ledger.answered([entry], left=[])
    assert ledger.split() == ([], [])
    assert (ledger.applied, ledger.puts) == (1, 0)


def test_a_refused_request_is_not_applied() -> None:
    ledger: Ledger[W] = Ledger()
    entry = ledger.add(W(1))
    ledger.begin([entry])
    ledger.unanswered([entry], maybe_applied=False)
    assert ledger.split() == ([W(1)], [])


def test_only_a_write_never_sent_can_be_superseded() -> None:
    ledger: Ledger[W] = Ledger()
    first = ledger.add(W(1))
    second = ledger.add(W(1), replaces=first)
    assert (first.state, ledger.superseded, ledger.open) == (State.SUPERSEDED, 1, 1)
    ledger.begin([second])
    with pytest.raises(RuntimeError, match="never sent"):
        ledger.add(W(1), replaces=second)
    with pytest.raises(RuntimeError, match="not pending"):
        ledger.begin([second])


def test_begin_after_halt_is_refused_from_any_thread() -> None:
    """halt() and begin() are atomic: after halt() returns, no begin() succeeds."""
    ledger: Ledger[W] = Ledger()
    entries = [ledger.add(W(n)) for n in range(2000)]
    started: list[Entry[W]] = []
    go = threading.Event()

    def sender(mine: list[Entry[W]]) -> None:
        go.wait()
        for entry in mine:
            if ledger.begin([entry]):
                started.append(entry)

    threads = [threading.Thread(target=sender, args=(entries[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    go.set()
    ledger.halt()
    frozen = sum(e.state is State.SENT for e in entries)
    for thread in threads:
        thread.join()
    assert len(started) == frozen == sum(e.state is State.SENT for e in entries)
    not_applied, unknown = ledger.split()
    assert len(unknown) == frozen
    assert len(not_applied) + len(unknown) == 2000


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "replace", "begin", "apply", "return", "refuse", "lose", "halt"]),
        st.integers(0, 30),
        st.booleans(),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_every_write_is_in_exactly_one_class_after_any_sequence(
    ops: list[tuple[str, int, bool]],
) -> None:
    ledger: Ledger[W] = Ledger()
    entries: list[Entry[W]] = []
    # A model: what a reader of the results may conclude about each write.
    ever_lost: set[int] = set()
    for op, pick, flag in ops:
        pending = [e for e in entries if e.state is State.PENDING]
        sent = [e for e in entries if e.state is State.SENT]
        if op == "add":
            entries.append(ledger.add(W(len(entries), is_put=flag)))
        elif op == "replace" and pending:
            target = pending[pick % len(pending)]
            if not target.maybe:
                entries.append(ledger.add(W(len(entries)), replaces=target))
        elif op == "begin" and pending:
            chosen = pending[pick % len(pending) :][:25]
            began = ledger.begin(chosen)
            assert began is not ledger.halted
        elif op in ("apply", "return") and sent:
            chosen = sent[: pick % len(sent) + 1]
            if op == "apply":
                ledger.answered(chosen, left=[])
            else:
                ledger.answered([], left=chosen)
        elif op in ("refuse", "lose") and sent:
            chosen = sent[: pick % len(sent) + 1]
            ledger.unanswered(chosen, maybe_applied=op == "lose")
            if op == "lose":
                ever_lost.update(id(e) for e in chosen)
        elif op == "halt":
            ledger.halt()
        not_applied, unknown = ledger.split()
        applied = [e for e in entries if e.state is State.APPLIED]
        superseded = [e for e in entries if e.state is State.SUPERSEDED]
        assert ledger.handed_in == len(entries)
        assert ledger.applied == len(applied)
        assert ledger.puts == sum(e.write.is_put for e in applied)
        assert ledger.superseded == len(superseded)
        assert len(not_applied) + len(unknown) + ledger.applied + ledger.superseded == len(entries)
        assert set(map(id, not_applied)).isdisjoint(map(id, unknown))
        # Never "not applied" for a write that was ever out without an answer, or is out now.
        writes_not_applied = {id(w) for w in not_applied}
        for entry in entries:
            if id(entry) in ever_lost or entry.state is State.SENT:
                assert id(entry.write) not in writes_not_applied
