"""Shared helpers for the test suite (the server fixtures come from the dynaorm.testing plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dynaorm import Table


@pytest.fixture
def sent_requests() -> Iterator[Callable[[Table], list[str]]]:
    """Start recording the operations a table's client sends; returns the live list.

    The hook is botocore's ``before-send`` event, so a request counts once it was about to go
    on the wire, whatever happened next. Hooks are removed when the test ends.
    """
    cleanups: list[Callable[[], None]] = []

    def record(table: Table) -> list[str]:
        operations: list[str] = []

        def handler(event_name: str, **kwargs: Any) -> None:
            operations.append(event_name.rsplit(".", 1)[-1])

        events = table.transport.client.meta.events
        events.register("before-send.dynamodb", handler)
        cleanups.append(lambda: events.unregister("before-send.dynamodb", handler))
        return operations

    yield record
    for cleanup in cleanups:
        cleanup()
