"""Shared helpers for the test suite (the server fixtures come from the dynaorm.testing plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from support import requests_sent

from dynaorm import Table


@pytest.fixture
def sent_requests() -> Iterator[Callable[[Table], list[str]]]:
    """Start recording the operations a table's client sends; returns the live list.

    The hook is botocore's ``before-send`` event, so a request counts once it was about to go
    on the wire, whatever happened next. Hooks are removed when the test ends.
    """
    with ExitStack() as stack:
        yield lambda table: stack.enter_context(requests_sent(table))
