"""Helpers several test modules share (imported by name; the fixtures live in conftest)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from dynaorm import Entity, Table
from dynaorm.testing import renamed, unique_table_name


@contextlib.contextmanager
def requests_sent(table: Table) -> Iterator[list[str]]:
    """The operations the table's client sends while the block runs (botocore before-send)."""
    sent: list[str] = []

    def count(event_name: str, **kwargs: Any) -> None:
        sent.append(event_name.rsplit(".", 1)[-1])

    events = table.transport.client.meta.events
    events.register("before-send.dynamodb", count)
    try:
        yield sent
    finally:
        events.unregister("before-send.dynamodb", count)


@contextlib.contextmanager
def bodies_sent(table: Table) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """``(operation, parameters)`` of every request the table's client sends while the block
    runs, the parameters read back from the HTTP body about to go on the wire (botocore
    before-send; binary values are base64 text there)."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(event_name: str, request: Any, **kwargs: Any) -> None:
        sent.append((event_name.rsplit(".", 1)[-1], json.loads(request.body)))

    events = table.transport.client.meta.events
    events.register("before-send.dynamodb", record)
    try:
        yield sent
    finally:
        events.unregister("before-send.dynamodb", record)


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


class _Raw:
    """The ``raw`` member of a canned :class:`AWSResponse`."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> list[bytes]:
        return [self.data]


def error_response(url: str, status: int, code: str, message: str, **members: Any) -> AWSResponse:
    """An error answer as DynamoDB sends it (``code`` as its ``__type``, ``message``, and any other
    ``members`` such as ``CancellationReasons``), for a botocore ``before-send`` hook to return
    instead of sending the request; botocore parses it like a real one."""
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **members}
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "injected-by-a-test"
    return AWSResponse(url, status, headers, _Raw(json.dumps(body).encode()))
