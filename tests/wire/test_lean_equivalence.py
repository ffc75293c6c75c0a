"""The lean transport sends what botocore sends and reads what botocore reads: for every
data-plane operation the same URL, body and signed headers (fixed clock and credentials), the
same parse of the same response bytes, and the same errors (down to dynaorm's)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from botocore import xform_name
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from hypothesis import HealthCheck, given, settings, strategies as st

from dynaorm import ConditionFailed, ServiceError, Settings, Throttled, TransactionCanceled
from dynaorm.base.typed_json import to_json
from dynaorm.wire.lean import DATA_PLANE, LeanSender
from dynaorm.wire.lean_codec import encode_request
from dynaorm.wire.translate import translate
from dynaorm.wire.transport import Transport

FROZEN = datetime.datetime(2026, 1, 2, 3, 4, 5)
SIGNED = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target", "Content-Type")
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# -- attribute values of every type -----------------------------------------------------------

names = st.text(min_size=1, max_size=6)
digits = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1).map(str)
decimals = st.builds(
    lambda whole, frac: f"{whole}.{frac}",
    st.integers(min_value=-(10**18), max_value=10**18),
    st.integers(min_value=0, max_value=10**19),
)
numbers = st.one_of(digits, decimals)
scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": n}, numbers),
    st.builds(lambda b: {"B": b}, st.binary(max_size=20)),
    st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=8), min_size=1, max_size=4)),
    st.builds(lambda s: {"NS": sorted(s)}, st.sets(digits, min_size=1, max_size=4)),
    st.builds(lambda s: {"BS": sorted(s)}, st.sets(st.binary(max_size=8), min_size=1, max_size=4)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(names, inner, max_size=4)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=4)),
    ),
    max_leaves=12,
)
items = st.dictionaries(names, values, min_size=1, max_size=6)


def requests_of(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A request of every data-plane operation, each carrying ``item`` where items go."""
    value = next(iter(item.values()))
    eav = {":v": value}
    return {
        "GetItem": {"TableName": "t", "Key": item, "ConsistentRead": True},
        "PutItem": {
            "TableName": "t",
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#p)",
            "ExpressionAttributeNames": {"#p": "pk"},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
        "UpdateItem": {
            "TableName": "t",
            "Key": item,
            "UpdateExpression": "SET #p = :v",
            "ExpressionAttributeNames": {"#p": "pk"},
            "ExpressionAttributeValues": eav,
            "ReturnValues": "ALL_NEW",
        },
        "DeleteItem": {"TableName": "t", "Key": item, "ReturnValues": "ALL_OLD"},
        "Query": {
            "TableName": "t",
            "IndexName": "GSI1",
            "KeyConditionExpression": "#p = :v",
            "ExpressionAttributeNames": {"#p": "pk"},
            "ExpressionAttributeValues": eav,
            "ExclusiveStartKey": item,
            "Limit": 10,
            "ScanIndexForward": False,
        },
        "Scan": {"TableName": "t", "ExclusiveStartKey": item, "Segment": 1, "TotalSegments": 4},
        "BatchWriteItem": {
            "RequestItems": {
                "t": [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": item}}]
            },
            "ReturnConsumedCapacity": "TOTAL",
        },
        "BatchGetItem": {"RequestItems": {"t": {"Keys": [item], "ConsistentRead": True}}},
        "TransactWriteItems": {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": item}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": item,
                        "UpdateExpression": "SET #p = :v",
                        "ExpressionAttributeNames": {"#p": "pk"},
                        "ExpressionAttributeValues": eav,
                    }
                },
                {"ConditionCheck": {"TableName": "t", "Key": item, "ConditionExpression": "x"}},
                {"Delete": {"TableName": "t", "Key": item}},
            ],
            "ClientRequestToken": "token-1",
        },
        "TransactGetItems": {"TransactItems": [{"Get": {"TableName": "t", "Key": item}}]},
    }


def responses_of(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A response of every data-plane operation, each carrying ``item`` where items go."""
    capacity = {"TableName": "t", "CapacityUnits": 1.5}
    metrics = {"ItemCollectionKey": item, "SizeEstimateRangeGB": [0.0, 1.0]}
    return {
        "GetItem": {"Item": item, "ConsumedCapacity": capacity},
        "PutItem": {"Attributes": item, "ItemCollectionMetrics": metrics},
        "UpdateItem": {"Attributes": item},
        "DeleteItem": {"Attributes": item, "ConsumedCapacity": capacity},
        "Query": {"Items": [item, item], "Count": 2, "ScannedCount": 3, "LastEvaluatedKey": item},
        "Scan": {"Items": [item], "Count": 1, "ScannedCount": 1},
        "BatchWriteItem": {
            "UnprocessedItems": {"t": [{"PutRequest": {"Item": item}}]},
            "ConsumedCapacity": [capacity],
        },
        "BatchGetItem": {
            "Responses": {"t": [item]},
            "UnprocessedKeys": {"t": {"Keys": [item], "ConsistentRead": True}},
        },
        "TransactWriteItems": {"ConsumedCapacity": [capacity]},
        "TransactGetItems": {"Responses": [{"Item": item}, {}]},
    }


# -- the two transports, side by side --------------------------------------------------------


@pytest.fixture(scope="module", params=[None, "http://127.0.0.1:8765"], ids=["aws", "custom"])
def transport(request: pytest.FixtureRequest) -> Transport:
    """A lean transport (with its botocore client) for fixed credentials."""
    given = Settings(
        region="eu-west-1",
        endpoint_url=request.param,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="session-token",
        transport="lean",
    )
    return Transport(given.resolved())


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN):
        yield


class _Captured(Exception):
    """Stops botocore once its request is prepared and signed."""


def botocore_request(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
    """The request botocore would send (captured by a ``before-send`` hook, never sent)."""
    seen: list[Any] = []

    def capture(request: Any, **_: Any) -> None:
        seen.append(request)
        raise _Captured

    client.meta.events.register_first("before-send.dynamodb", capture)
    try:
        with pytest.raises(_Captured):
            getattr(client, _method(client, operation))(**params)
    finally:
        client.meta.events.unregister("before-send.dynamodb", capture)
    return seen[0]


def _method(client: BaseClient, operation: str) -> str:
    return xform_name(operation)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def lean_of(transport: Transport) -> LeanSender:
    lean = transport.lean
    assert lean is not None
    return lean


@EXAMPLES
@given(item=items)
def test_every_request_is_the_one_botocore_sends(
    transport: Transport, item: dict[str, Any]
) -> None:
    lean = lean_of(transport)
    for operation, params in requests_of(item).items():
        expected = botocore_request(transport.client, operation, params)
        body = encode_request(params)
        assert json.loads(body) == json.loads(expected.body)
        # The lean body is compact JSON (botocore's has spaces): signed over the same bytes,
        # the signature is botocore's.
        ours = lean.sign(operation, expected.body)
        assert ours.url == expected.url
        assert lean.sign(operation, body).url == expected.url
        for name in SIGNED:
            assert _text(ours.headers[name]) == _text(expected.headers[name]), name


def _wire(body: dict[str, Any]) -> bytes:
    return to_json(body).encode()


HEADERS = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "REQ123"}


@EXAMPLES
@given(item=items)
def test_every_response_parses_as_botocore_parses_it(
    transport: Transport, item: dict[str, Any]
) -> None:
    lean = lean_of(transport)
    parser = create_parser("json")
    model = transport.client.meta.service_model
    for operation, body in responses_of(item).items():
        data = _wire(body)
        expected = parser.parse(
            {"status_code": 200, "headers": dict(HEADERS), "body": data},
            model.operation_model(operation).output_shape,
        )
        ours = lean.read(operation, 200, HEADERS, data)
        assert ours.pop("ResponseMetadata").pop("RetryAttempts") == 0
        expected_metadata = expected.pop("ResponseMetadata")
        assert ours == expected
        assert expected_metadata["RequestId"] == "REQ123"


def test_the_lean_transport_covers_exactly_the_data_plane() -> None:
    assert set(requests_of({"pk": {"S": "x"}})) == DATA_PLANE == set(responses_of({}))


# -- errors --------------------------------------------------------------------------------


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> list[bytes]:
        return [self.data]


def botocore_error(client: BaseClient, operation: str, params: dict[str, Any], answer: Any) -> Any:
    """The exception the botocore client raises when the server answers ``answer``."""
    status, body = answer
    headers = HTTPHeaders()
    for name, value in HEADERS.items():
        headers[name] = value

    def respond(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, headers, _Raw(body))

    client.meta.events.register_first("before-send.dynamodb", respond)  # type: ignore[arg-type]
    try:
        with pytest.raises(ClientError) as caught:
            getattr(client, _method(client, operation))(**params)
    finally:
        client.meta.events.unregister("before-send.dynamodb", respond)
    return caught.value


def lean_error(lean: LeanSender, operation: str, answer: tuple[int, bytes]) -> Any:
    with pytest.raises(ClientError) as caught:
        lean.read(operation, answer[0], HEADERS, answer[1])
    return caught.value


def _error(status: int, code: str, message: str, **members: Any) -> tuple[int, bytes]:
    typed = f"com.amazonaws.dynamodb.v20120810#{code}"
    return status, _wire({"__type": typed, "message": message, **members})


def errors_of(item: dict[str, Any]) -> dict[str, tuple[str, tuple[int, bytes], type[Exception]]]:
    reasons = [
        {"Code": "ConditionalCheckFailed", "Message": "failed", "Item": item},
        {"Code": "None"},
    ]
    return {
        "throttled": (
            "GetItem",
            _error(400, "ProvisionedThroughputExceededException", "slow down"),
            Throttled,
        ),
        "throttling": ("Query", _error(400, "ThrottlingException", "rate"), Throttled),
        "condition with item": (
            "PutItem",
            _error(400, "ConditionalCheckFailedException", "failed", Item=item),
            ConditionFailed,
        ),
        "cancelled": (
            "TransactWriteItems",
            _error(
                400,
                "TransactionCanceledException",
                "cancelled [ConditionalCheckFailed, None]",
                CancellationReasons=reasons,
            ),
            TransactionCanceled,
        ),
        "validation": (
            "UpdateItem",
            _error(400, "ValidationException", "bad expression"),
            ServiceError,
        ),
        "server fault": (
            "Scan",
            (500, _wire({"__type": "com.amazon.coral.service#InternalServerError"})),
            ServiceError,
        ),
        "html fault": ("BatchWriteItem", (503, b"<html>unavailable</html>"), ServiceError),
        "empty fault": ("BatchGetItem", (502, b""), ServiceError),
        "empty refusal": ("TransactGetItems", (400, b""), ServiceError),
        "text refusal": ("DeleteItem", (403, b"Forbidden by a proxy"), ServiceError),
    }


@EXAMPLES
@given(item=items)
def test_error_responses_raise_what_botocore_raises(
    transport: Transport, item: dict[str, Any]
) -> None:
    lean = lean_of(transport)
    requests = requests_of(item)
    for name, (operation, answer, dynaorm_class) in errors_of(item).items():
        expected = botocore_error(transport.client, operation, requests[operation], answer)
        ours = lean_error(lean, operation, answer)
        assert type(ours) is type(expected), name
        assert ours.response == expected.response, name
        assert str(ours) == str(expected), name
        theirs_translated = translate(expected, operation, table="t")
        ours_translated = translate(ours, operation, table="t")
        assert type(ours_translated) is type(theirs_translated) is not None
        assert isinstance(ours_translated, dynaorm_class), name
        assert vars(ours_translated) == vars(theirs_translated), name
