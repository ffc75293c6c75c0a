"""The error hierarchy, and the errors a caller gets from throttling, server faults and an
unreachable endpoint."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import error_response

from dynaorm import (
    BatchIncomplete,
    ConditionFailed,
    ConfigurationError,
    DynaormError,
    EndpointUnavailable,
    Entity,
    InvalidCursor,
    Key,
    RequestTimeout,
    RetryPolicy,
    ServiceError,
    Settings,
    Table,
    TableNotFound,
    Throttled,
    TransactionCanceled,
    UnknownEntityType,
    ValidationError,
    VersionConflict,
)
from dynaorm.wire.hooks import Answer, Attempt, hooks_for

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]

# -- the hierarchy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (ValidationError, (DynaormError, ValueError)),
        (ConfigurationError, (DynaormError,)),
        (InvalidCursor, (DynaormError, ValueError)),
        (UnknownEntityType, (DynaormError, LookupError)),
        (BatchIncomplete, (DynaormError,)),
        (EndpointUnavailable, (DynaormError, ConnectionError)),
        (RequestTimeout, (EndpointUnavailable, ConnectionError, TimeoutError)),
        (ServiceError, (DynaormError,)),
        (ConditionFailed, (ServiceError,)),
        (VersionConflict, (ConditionFailed, ServiceError)),
        (TransactionCanceled, (ServiceError,)),
        (Throttled, (ServiceError,)),
        (TableNotFound, (ServiceError, LookupError)),
    ],
)
def test_hierarchy(error: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in (*bases, DynaormError, Exception):
        assert issubclass(error, base)


def test_errors_are_not_mixed_up() -> None:
    assert not issubclass(ConfigurationError, ValueError)
    assert not issubclass(ServiceError, LookupError)
    assert not issubclass(Throttled, ConditionFailed)
    assert not issubclass(ValidationError, ServiceError)


def test_error_attributes() -> None:
    unknown = UnknownEntityType("m", type_name="Ghost", item={"PK": {"S": "x"}})
    assert (unknown.type_name, unknown.item) == ("Ghost", {"PK": {"S": "x"}})
    incomplete = BatchIncomplete("m", unprocessed=("a", "b"))
    assert incomplete.unprocessed == ["a", "b"]
    conflict = VersionConflict("m", expected=3, item="stored", code="C", operation="PutItem")
    assert (conflict.expected, conflict.item, conflict.code, conflict.operation) == (
        3,
        "stored",
        "C",
        "PutItem",
    )
    canceled = TransactionCanceled("m", reasons=({"Code": "None"},))
    assert canceled.reasons == [{"Code": "None"}]
    assert ServiceError("m").code == ""
    assert str(Throttled("slow down")) == "slow down"


# -- retries against the server, faults injected through botocore's events ------------------

FAST = RetryPolicy(max_attempts=3, base_delay=0.001, cap=0.001)
faulty = Table("test-errors-faulty", retry_policy=FAST)


class Widget(Entity, table=faulty):
    widget_id = UnicodeAttribute()
    size = NumberAttribute(null=True)
    primary = Key(pk="WIDGET#{widget_id}", sk="WIDGET")


@pytest.fixture
def inject(table_factory: Factory) -> Iterator[Callable[[str, int, int], list[str]]]:
    """Answer the next ``times`` requests with an error instead of sending them."""
    table = table_factory(faulty)
    hooks = hooks_for(table.transport.client)
    handlers: list[Any] = []

    def start(code: str, status: int, times: int) -> list[str]:
        seen: list[str] = []

        def handler(attempt: Attempt) -> Answer | None:
            seen.append(attempt.operation)
            if len(seen) <= times:
                return error_response(status, code, "injected")
            return None

        hooks.register("before-send", handler)
        handlers.append(handler)
        return seen

    yield start
    for handler in handlers:
        hooks.unregister("before-send", handler)


def test_throttled_requests_are_retried(inject: Callable[[str, int, int], list[str]]) -> None:
    seen = inject("ProvisionedThroughputExceededException", 400, 2)
    Widget(widget_id="w1", size=1).save(condition=Widget.size.does_not_exist())
    assert seen == ["PutItem"] * 3  # even a conditional write: throttling means not applied
    assert Widget.get(widget_id="w1") == Widget(widget_id="w1", size=1)


def test_throttling_gives_up_under_the_policy(inject: Callable[[str, int, int], list[str]]) -> None:
    seen = inject("ThrottlingException", 400, 100)
    with pytest.raises(Throttled, match="GetItem: ThrottlingException: injected") as caught:
        Widget.get(widget_id="w1")
    assert seen == ["GetItem"] * FAST.max_attempts
    assert isinstance(caught.value.__cause__, ClientError)


def test_server_faults_are_retried_only_for_idempotent_requests(
    inject: Callable[[str, int, int], list[str]],
) -> None:
    seen = inject("InternalServerError", 500, 1)
    assert Widget.get(widget_id="w1") is None
    assert seen == ["GetItem", "GetItem"]

    seen = inject("InternalServerError", 500, 100)
    with pytest.raises(ServiceError, match="InternalServerError") as caught:
        Widget(widget_id="w1").save(condition=Widget.size.does_not_exist())
    assert caught.value.code == "InternalServerError"
    assert seen == ["PutItem"]  # a conditional write may have been applied: never repeated


# -- an endpoint nobody answers -------------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections (bound, never listening) for the test's duration."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_unreachable_endpoint(closed_port: int, sent_requests: Recorder) -> None:
    table = Table(
        "test-errors-unreachable",
        settings=Settings(endpoint_url=f"http://127.0.0.1:{closed_port}", connect_timeout=1),
        retry_policy=FAST,
    )
    sent = sent_requests(table)
    with pytest.raises(EndpointUnavailable, match="DescribeTable: Could not connect") as caught:
        table.describe()
    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value.__cause__, EndpointConnectionError)
    assert sent == ["DescribeTable"] * FAST.max_attempts  # idempotent: retried

    sent.clear()
    with pytest.raises(EndpointUnavailable, match="CreateTable"):
        table.create()
    assert sent == ["CreateTable"] * FAST.max_attempts  # never reached the server: safe to retry
