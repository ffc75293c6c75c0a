"""The error hierarchy, translation of botocore errors, retries, and unreachable endpoints."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
)
from hypothesis import given, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

import dynaorm.wire.retry
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
from dynaorm.wire.translate import (
    CODE_MAP,
    SERVER_FAULT_CODES,
    THROTTLING_CODES,
    is_retryable,
    translate,
)

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


# -- translation ----------------------------------------------------------------------------


def client_error(code: str, *, status: int = 400, **extra: Any) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"message for {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, "PutItem")


@pytest.mark.parametrize("code", sorted(CODE_MAP))
def test_every_mapped_code_is_translated(code: str) -> None:
    error = translate(client_error(code), "PutItem")
    assert type(error) is CODE_MAP[code]
    assert isinstance(error, ServiceError)
    assert error.code == code
    assert error.operation == "PutItem"
    assert str(error).startswith(f"PutItem: {code}: message for {code}")
    if error_class_is_table_not_found(code):  # TableNotFound adds where and what to do
        assert "table.create()" in str(error)
    else:
        assert str(error) == f"PutItem: {code}: message for {code}"


def error_class_is_table_not_found(code: str) -> bool:
    return CODE_MAP[code] is TableNotFound


def test_the_code_map() -> None:
    assert CODE_MAP["ConditionalCheckFailedException"] is ConditionFailed
    assert CODE_MAP["ResourceNotFoundException"] is TableNotFound
    assert CODE_MAP["TransactionCanceledException"] is TransactionCanceled
    assert CODE_MAP["ProvisionedThroughputExceededException"] is Throttled
    assert all(CODE_MAP[code] is Throttled for code in THROTTLING_CODES)


def test_condition_failure_carries_the_old_item() -> None:
    item = {"PK": {"S": "A"}}
    error = translate(client_error("ConditionalCheckFailedException", Item=item), "PutItem")
    assert isinstance(error, ConditionFailed)
    assert error.item == item
    bare = translate(client_error("ConditionalCheckFailedException"), "PutItem")
    assert isinstance(bare, ConditionFailed)
    assert bare.item is None


def test_transaction_cancellation_carries_reasons() -> None:
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "no"}]
    error = translate(
        client_error("TransactionCanceledException", CancellationReasons=reasons),
        "TransactWriteItems",
    )
    assert isinstance(error, TransactionCanceled)
    assert error.reasons == reasons
    assert error.operation == "TransactWriteItems"


@pytest.mark.parametrize(
    "code", ["ValidationException", "ResourceInUseException", "ItemCollectionSizeLimitExceeded"]
)
def test_other_codes_become_plain_service_errors(code: str) -> None:
    error = translate(client_error(code), "Query")
    assert type(error) is ServiceError
    assert error.code == code


def test_message_falls_back_to_the_botocore_text() -> None:
    exc = ClientError({"Error": {"Code": "Odd"}}, "GetItem")
    assert "Odd" in str(translate(exc, "GetItem"))


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), EndpointUnavailable),
        (ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), EndpointUnavailable),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), RequestTimeout),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), RequestTimeout),
    ],
)
def test_connection_errors(exc: Exception, kind: type[EndpointUnavailable]) -> None:
    error = translate(exc, "GetItem")
    assert type(error) is kind  # timeouts are a RequestTimeout, itself an EndpointUnavailable
    assert isinstance(error, EndpointUnavailable)
    assert isinstance(error, ConnectionError)
    assert isinstance(error, TimeoutError) is (kind is RequestTimeout)
    assert str(error).startswith("GetItem: ")
    assert is_retryable(exc, idempotent=True)
    assert not is_retryable(exc, idempotent=False)


@pytest.mark.parametrize("exc", [NoRegionError(), NoCredentialsError()])
def test_missing_region_or_credentials(exc: Exception) -> None:
    error = translate(exc, "GetItem")
    assert type(error) is ConfigurationError
    assert "dynaorm.configure" in str(error)


def test_other_botocore_errors_become_service_errors() -> None:
    error = translate(ParamValidationError(report="bad parameter"), "PutItem")
    assert type(error) is ServiceError
    assert "bad parameter" in str(error)


def test_dynaorm_errors_pass_through_and_foreign_errors_are_not_swallowed() -> None:
    original = ValidationError("mine")
    assert translate(original, "PutItem") is original
    with pytest.raises(KeyError, match="foreign"):
        translate(KeyError("foreign"), "PutItem")


@pytest.mark.parametrize(
    ("exc", "idempotent", "retryable"),
    [
        *[(client_error(code), False, True) for code in sorted(THROTTLING_CODES)],
        *[(client_error(code, status=500), True, True) for code in sorted(SERVER_FAULT_CODES)],
        *[(client_error(code, status=500), False, False) for code in sorted(SERVER_FAULT_CODES)],
        (client_error("Whatever", status=503), True, True),
        (client_error("Whatever", status=503), False, False),
        (client_error("ConditionalCheckFailedException"), True, False),
        (client_error("ValidationException"), True, False),
        (ValueError("not botocore"), True, False),
    ],
)
def test_is_retryable(exc: Exception, idempotent: bool, retryable: bool) -> None:
    assert is_retryable(exc, idempotent=idempotent) is retryable


# -- the retry policy -----------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [1, 2, 5, 10])
def test_one_delay_per_retry(attempts: int) -> None:
    assert len(list(RetryPolicy(max_attempts=attempts).delays())) == attempts - 1


def test_delays_double_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.1, cap=1.0, jitter=False)
    assert list(policy.delays()) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_huge_retry_numbers_do_not_overflow() -> None:
    policy = RetryPolicy(base_delay=0.5, cap=3.0, jitter=False)
    assert policy.backoff(10_000) == 3.0


@given(
    base=st.floats(min_value=1e-4, max_value=10),
    cap=st.floats(min_value=1e-4, max_value=60),
    retry=st.integers(min_value=1, max_value=200),
)
def test_full_jitter_stays_within_bounds(base: float, cap: float, retry: int) -> None:
    bound = min(cap, base * 2 ** min(retry - 1, 62))
    delay = RetryPolicy(base_delay=base, cap=cap).backoff(retry)
    assert 0.0 <= delay <= bound
    assert RetryPolicy(base_delay=base, cap=cap, jitter=False).backoff(retry) == bound


@given(st.integers(min_value=1, max_value=30), st.floats(min_value=1e-3, max_value=5))
def test_every_delay_is_capped(attempts: int, cap: float) -> None:
    delays = list(RetryPolicy(max_attempts=attempts, base_delay=0.5, cap=cap).delays())
    assert len(delays) == attempts - 1
    assert all(0.0 <= d <= cap for d in delays)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def test_deadline_limits_and_shortens_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(dynaorm.wire.retry, "time", SimpleNamespace(monotonic=clock.monotonic))
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, cap=1.0, deadline=2.5, jitter=False)
    delays = policy.delays()
    assert next(delays) == 1.0
    clock.now += 1.0
    assert next(delays) == 1.0
    clock.now += 1.0
    # half a second left before the deadline: the sleep leaves the retry LEAST_ATTEMPT_TIME
    assert next(delays) == pytest.approx(0.5 - dynaorm.wire.retry.LEAST_ATTEMPT_TIME)
    clock.now += 0.5
    assert list(delays) == []


def test_no_retry_after_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(dynaorm.wire.retry, "time", SimpleNamespace(monotonic=clock.monotonic))
    delays = RetryPolicy(deadline=1.0).delays()
    clock.now += 5
    assert list(delays) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "RetryPolicy.max_attempts must be at least 1, got 0"),
        ({"base_delay": 0}, "RetryPolicy.base_delay must be positive, got 0"),
        ({"cap": -1.0}, "RetryPolicy.cap must be positive, got -1.0"),
    ],
)
def test_bad_retry_policies(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        RetryPolicy(**kwargs)


# -- retries against the server, faults injected through botocore's events ------------------

FAST = RetryPolicy(max_attempts=3, base_delay=0.001, cap=0.001)
faulty = Table("test-errors-faulty", retry_policy=FAST)


class Widget(Entity, table=faulty):
    widget_id = UnicodeAttribute()
    size = NumberAttribute(null=True)
    primary = Key(pk="WIDGET#{widget_id}", sk="WIDGET")


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body


def error_response(code: str, status: int) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"})
    return AWSResponse(
        "http://injected", status, {"x-amzn-RequestId": "injected"}, _Body(body.encode())
    )


@pytest.fixture
def inject(table_factory: Factory) -> Iterator[Callable[[str, int, int], list[str]]]:
    """Answer the next ``times`` requests with an error instead of sending them."""
    table = table_factory(faulty)
    events = table.transport.client.meta.events
    handlers: list[Any] = []

    def start(code: str, status: int, times: int) -> list[str]:
        seen: list[str] = []

        def handler(event_name: str, **kwargs: Any) -> AWSResponse | None:
            seen.append(event_name.rsplit(".", 1)[-1])
            if len(seen) <= times:
                return error_response(code, status)
            return None

        events.register("before-send.dynamodb", handler)
        handlers.append(handler)
        return seen

    yield start
    for handler in handlers:
        events.unregister("before-send.dynamodb", handler)


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
