"""Helpers several test modules share (imported by name; the fixtures live in conftest)."""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dynaorm import Entity, Table
from dynaorm.testing import renamed, unique_table_name
from dynaorm.wire.hooks import Answer, Attempt, hooks_for

# Which recording a request belongs to. Tables with the same settings share one client (and
# its transport hooks), and a read closed earlier may still send the request it had under
# way (closing does not wait for it): a recording counts only requests sent from the context
# it was opened in, which the threads dynaorm starts from there inherit (dynaorm.base.threads
# copies it).
_RECORDING: contextvars.ContextVar[frozenset[object]] = contextvars.ContextVar(
    "tests-recording", default=frozenset()
)


@contextlib.contextmanager
def _recording(table: Table, record: Callable[..., None]) -> Iterator[None]:
    mark = object()
    token = _RECORDING.set(_RECORDING.get() | {mark})  # recordings nest

    def hook(attempt: Attempt) -> None:
        if mark in _RECORDING.get():
            record(attempt)

    hooks = hooks_for(table.transport.client)
    hooks.register("before-send", hook)
    try:
        yield
    finally:
        hooks.unregister("before-send", hook)
        try:
            _RECORDING.reset(token)
        except ValueError:  # closed out of order (an ExitStack of recordings), or elsewhere
            _RECORDING.set(_RECORDING.get() - {mark})


@contextlib.contextmanager
def hooked(
    table: Table,
    stage: str,
    hook: Callable[..., Any],
    *,
    operation: str | None = None,
    first: bool = False,
) -> Iterator[None]:
    """``hook`` registered at ``stage`` of the table's transport hooks (see
    :mod:`dynaorm.wire.hooks`) while the block runs, for ``operation``'s attempts only when
    given."""

    def only(attempt: Attempt, *rest: Any) -> Any:
        if operation is None or attempt.operation == operation:
            return hook(attempt, *rest)
        return None

    hooks = hooks_for(table.transport.client)
    hooks.register(stage, only, first=first)
    try:
        yield
    finally:
        hooks.unregister(stage, only)


@contextlib.contextmanager
def requests_sent(table: Table) -> Iterator[list[str]]:
    """The operations the table's client sends while the block runs (the transport's
    ``before-send`` hook, whichever transport sends them), from the block's context and the
    threads dynaorm starts from it."""
    sent: list[str] = []

    def count(attempt: Attempt) -> None:
        sent.append(attempt.operation)

    with _recording(table, count):
        yield sent


@contextlib.contextmanager
def bodies_sent(table: Table) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """``(operation, parameters)`` of every request the table's client sends while the block
    runs (as :func:`requests_sent` counts them), the parameters read back from the HTTP body
    about to go on the wire (binary values are base64 text there)."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(attempt: Attempt) -> None:
        sent.append((attempt.operation, json.loads(attempt.body())))

    with _recording(table, record):
        yield sent


@contextlib.contextmanager
def fresh_table(table: Table, endpoint: str) -> Iterator[Table]:
    """``table`` under a unique name on ``endpoint``, created for the block and deleted after
    (for module-scoped fixtures, where ``table_factory`` cannot serve)."""
    with renamed(table, unique_table_name(table.name), endpoint):
        table.create(wait=True)
        try:
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


def write_all(table: Table, entities: Sequence[Entity]) -> None:
    """Raw ``BatchWriteItem`` requests of 25, re-sending unprocessed items (fast set-up for read
    tests; the batch writer itself is tested elsewhere)."""
    for start in range(0, len(entities), 25):
        requests = [{"PutRequest": {"Item": e.to_item()}} for e in entities[start : start + 25]]
        pending: dict[str, Any] = {table.name: requests}
        while pending:
            response = table.call("BatchWriteItem", {"RequestItems": pending}, idempotent=True)
            pending = response.get("UnprocessedItems") or {}


def error_response(status: int, code: str, message: str, **members: Any) -> Answer:
    """An error answer as DynamoDB sends it (``code`` as its ``__type``, ``message``, and any other
    ``members`` such as ``CancellationReasons``), for a transport ``before-send`` hook to return
    instead of sending the request; it is parsed like a real one."""
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **members}
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": "injected-by-a-test",
    }
    return Answer(status, json.dumps(body).encode(), headers)
