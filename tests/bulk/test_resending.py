"""The decisions of one batch request and its re-sends (``Resend``), without I/O: whatever
the responses and failures, every entry ends applied, or left with the right class in the
ledger, and the budget bounds the sends. The sync and async drivers run these decisions (they
are checked against the server in tests/bulk and tests/asyncio/test_async_batches.py)."""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from botocore.exceptions import ClientError
from hypothesis import given, settings, strategies as st

from dynaorm.base.errors import DynaormError
from dynaorm.bulk.batching import Meter
from dynaorm.bulk.ledger import Entry, Ledger
from dynaorm.bulk.resending import Resend, StopGate
from dynaorm.wire.retry import Retrier, RetryPolicy


class Put(NamedTuple):
    n: int
    is_put: bool = True


def client_error(status: int, code: str) -> DynaormError:
    cause = ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "BatchWriteItem",
    )
    error = DynaormError(code)
    error.__cause__ = cause
    return error


FAILURES = {
    "throttled": client_error(400, "ProvisionedThroughputExceededException"),
    "server_fault": client_error(500, "InternalServerError"),
    "invalid": client_error(400, "ValidationException"),
}

# One event per send: a response leaving some of the entries unprocessed, or a failure.
events = st.lists(
    st.one_of(
        st.sets(st.integers(0, 9)).map(lambda left: ("answer", frozenset(left))),
        st.sampled_from(sorted(FAILURES)).map(lambda name: ("fail", name)),
        st.just(("halt", None)),
    ),
    max_size=12,
)


def key(n: int) -> tuple[tuple[str, str], ...]:
    return (("PK", str(n)),)


def drive(script: list[tuple[str, Any]], attempts: int) -> dict[str, Any]:
    """Run ``script`` through a Resend of ten entries, as a driver does (without sleeping)."""
    ledger: Ledger[Put] = Ledger()
    entries = [ledger.add(Put(n)) for n in range(10)]
    retrier = Retrier(RetryPolicy(max_attempts=attempts, deadline=None), "test")
    sent: list[list[int]] = []
    maybe: set[int] = set()

    def build(chosen: list[Entry[Put]]) -> dict[str, Any]:
        sent.append([e.write.n for e in chosen])
        return {"numbers": [e.write.n for e in chosen]}

    def receive(response: dict[str, Any]) -> list[tuple[tuple[str, str], ...]]:
        return [key(n) for n in response["left"]]

    resend = Resend(
        {key(e.write.n): e for e in entries},
        build=build,
        receive=receive,
        retrier=retrier,
        meter=Meter("batch_write", None),
        noun="item",
        gate=ledger,
    )
    script = list(script)
    request = resend.next_request()
    while request is not None:
        kind, value = script.pop(0) if script else ("answer", frozenset())
        if kind == "halt":
            ledger.halt()
            kind, value = ("answer", frozenset(range(10)))
        if kind == "answer":
            delay = resend.answered({"left": sorted(set(request["numbers"]) & value)})
        else:
            if FAILURES[value] is FAILURES["server_fault"]:
                maybe.update(request["numbers"])
            delay = resend.failed(FAILURES[value])
        if delay is None:
            break
        request = resend.next_request()
    not_applied, unknown = ledger.split()
    return {
        "outcome": resend.outcome,
        "sent": sent,
        "applied": ledger.applied,
        "not_applied": {w.n for w in not_applied},
        "unknown": {w.n for w in unknown},
        "maybe": maybe,
        "halted": ledger.halted,
    }


@settings(max_examples=300, deadline=None)
@given(script=events, attempts=st.integers(1, 6))
def test_every_entry_ends_in_exactly_one_class(script: list[Any], attempts: int) -> None:
    run = drive(script, attempts)
    left = {e.write.n for e in run["outcome"].left}
    # What the outcome leaves is what the ledger has not applied, split by what it knows.
    assert run["not_applied"] | run["unknown"] == left
    assert not run["not_applied"] & run["unknown"]
    assert run["applied"] + len(left) == 10
    # Only an entry some unanswered request carried may be of unknown outcome.
    assert run["unknown"] == left & run["maybe"]
    # The budget bounds the sends; each send carries exactly what was still pending.
    assert len(run["sent"]) <= attempts
    for earlier, later in zip(run["sent"], run["sent"][1:], strict=False):
        assert set(later) <= set(earlier)
    error = run["outcome"].error
    if error is not None:
        assert run["outcome"].left  # an error leaves what it carried
        assert run["outcome"].gave_up == (error is not FAILURES["invalid"])


def test_a_halted_gate_sends_nothing() -> None:
    stop = threading.Event()
    stop.set()
    resend = Resend(
        {key(1): 1},
        build=lambda chosen: {"n": chosen},
        receive=lambda response: [],
        retrier=Retrier(RetryPolicy(), "test"),
        meter=Meter("batch_get", None),
        noun="key",
        gate=StopGate(stop),
    )
    assert resend.next_request() is None
    assert resend.outcome.left == [1]


def test_a_server_fault_backs_off_then_gives_up_with_its_error() -> None:
    ledger: Ledger[Put] = Ledger()
    entry = ledger.add(Put(1))
    resend = Resend(
        {key(1): entry},
        build=lambda chosen: {},
        receive=lambda response: [],
        retrier=Retrier(RetryPolicy(max_attempts=2, base_delay=0.5, jitter=False), "test"),
        meter=Meter("batch_write", None),
        noun="item",
        gate=ledger,
    )
    fault = FAILURES["server_fault"]
    assert resend.next_request() == {}
    assert resend.failed(fault) == 0.5  # the policy's first backoff
    assert resend.reason == "InternalServerError"
    assert resend.next_request() == {}
    assert resend.failed(fault) is None  # two attempts spent
    assert resend.outcome.left == [entry]
    assert resend.outcome.error is fault
    assert ledger.split() == ([], [Put(1)])  # maybe applied: unknown
