"""Translation of botocore errors into dynaorm's (dynaorm/wire/translate.py), and which are
retryable."""

from __future__ import annotations

from typing import Any

import pytest
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

from dynaorm import (
    ConditionFailed,
    ConfigurationError,
    EndpointUnavailable,
    RequestTimeout,
    ServiceError,
    TableNotFound,
    Throttled,
    TransactionCanceled,
    ValidationError,
)
from dynaorm.wire.translate import (
    CODE_MAP,
    SERVER_FAULT_CODES,
    THROTTLING_CODES,
    is_retryable,
    translate,
)

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
