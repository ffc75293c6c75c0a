"""The steps of a many-request operation (dynaorm.wire.steps), driven without a server: the
driver sends each call's answer back, raises its error into the steps, and returns their
result; the sync and the async lifecycle are two such drivers."""

from __future__ import annotations

import pytest

from dynaorm import TableNotFound, Throttled
from dynaorm.wire.steps import Call, Pause, Stepper, Steps


def describe_or_create(name: str) -> Steps[str]:
    try:
        yield Call("DescribeTable", {"TableName": name}, idempotent=True)
    except TableNotFound:
        yield Call("CreateTable", {"TableName": name}, idempotent=False)
        yield Pause(0.5)
        return "created"
    return "there"


def test_an_answer_is_sent_back_and_the_result_kept() -> None:
    run = Stepper(describe_or_create("t"))
    assert run.next() == Call("DescribeTable", {"TableName": "t"}, idempotent=True)
    run.reply = {"Table": {}}
    assert run.next() is None
    assert run.result == "there"


def test_an_error_is_raised_into_the_steps() -> None:
    run = Stepper(describe_or_create("t"))
    run.next()
    run.error = TableNotFound("no such table")
    assert run.next() == Call("CreateTable", {"TableName": "t"}, idempotent=False)
    run.reply = {}
    assert run.next() == Pause(0.5)
    assert run.next() is None
    assert run.result == "created"


def test_an_error_the_steps_do_not_handle_propagates() -> None:
    run = Stepper(describe_or_create("t"))
    run.next()
    run.error = Throttled("slow down")
    with pytest.raises(Throttled):
        run.next()
