"""DynamoDB Streams records decoded into typed changes: recorded Lambda events of every view
type, a GetRecords response as botocore parses it, the records of the embedded server's own
stream, and the Lambda handler example on all of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from dynaorm import (
    Change,
    ItemKey,
    ServiceError,
    Table,
    UnknownItem,
    ValidationError,
    decode_stream_records,
)
from examples.stream_handler import Customer, Order, handler, shop

RECORDED = Path(__file__).parent / "streams"
VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
ORDER_KEY = {"PK": "CUSTOMER#c1", "SK": "ORDER#o1"}


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text())


def lambda_event(view_type: str) -> dict[str, Any]:
    return recorded(f"lambda_{view_type.lower()}.json")


def o1(status: str = "PLACED") -> Order:
    return Order(customer_id="c1", order_id="o1", status=status, total=42.5, receipt=b"\x00PDF-1.7")


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_recorded_lambda_events_of_every_view_type(view_type: str) -> None:
    changes = shop.changes(lambda_event(view_type))
    assert [c.event for c in changes] == [
        "INSERT",
        "MODIFY",
        "REMOVE",
        "REMOVE",
        "INSERT",
        "INSERT",
    ]
    assert all(c.view_type == view_type for c in changes)
    new_images = view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    old_images = view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    insert, modify, remove, expiry, customer, coupon = changes

    # Keys are typed whenever the entity is known, from the images or the key alone.
    assert insert.keys == ItemKey(Order, ORDER_KEY)
    assert insert.entity is Order
    assert modify.keys == ItemKey(Order, ORDER_KEY)
    assert remove.keys == ItemKey(Order, {"PK": "CUSTOMER#c1", "SK": "ORDER#o2"})
    assert customer.keys == ItemKey(Customer, {"PK": "CUSTOMER#c1", "SK": "PROFILE"})
    assert customer.entity is Customer

    assert insert.new == (o1() if new_images else None)
    assert insert.old is None
    assert modify.new == (o1("PAID") if new_images else None)
    assert modify.old == (o1() if old_images else None)
    assert remove.new is None
    assert remove.old == (Order(customer_id="c1", order_id="o2", total=10) if old_images else None)
    if new_images:
        assert isinstance(insert.new, Order)
        assert insert.new.receipt == b"\x00PDF-1.7"  # base64 in the event, bytes here

    # Time to Live removals are told apart from deletes by requests.
    assert [c.is_ttl_expiry for c in changes] == [False, False, False, True, False, False]
    if old_images:
        assert isinstance(expiry.old, Order)
        assert expiry.old.expires == datetime(2024, 6, 1, tzinfo=UTC)

    # An item of a type no entity claims: UnknownItem with its type name, raw keys when the
    # key matches no template either.
    if new_images:
        assert isinstance(coupon.new, UnknownItem)
        assert coupon.new.type_name == "Coupon"
        assert coupon.entity is None
    assert coupon.keys == {"PK": {"S": "COUPON#SUMMER"}, "SK": {"S": "COUPON"}}

    assert insert.sequence_number == "4421584500000000017450439091"
    assert insert.approximate_time == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert insert.size_bytes == 60
    assert insert.event_id == "00c4ca4238a0b923820dcc509a6f7584"
    assert insert.record["eventSource"] == "aws:dynamodb"


def parsed_get_records(body: dict[str, Any]) -> dict[str, Any]:
    """A GetRecords response body parsed exactly as botocore parses it for a client."""
    model = botocore.session.get_session().get_service_model("dynamodbstreams")
    operation = model.operation_model("GetRecords")
    parser = create_parser(model.metadata["protocol"])
    raw = {"body": json.dumps(body).encode(), "headers": {}, "status_code": 200}
    return parser.parse(raw, operation.output_shape)  # type: ignore[no-any-return]


def test_a_get_records_response_as_botocore_returns_it() -> None:
    response = parsed_get_records(recorded("get_records_response.json"))
    first = response["Records"][0]
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], datetime)
    assert first["dynamodb"]["NewImage"]["receipt"] == {"B": b"\x00PDF-1.7"}
    from_api = decode_stream_records(shop, response)
    from_lambda = shop.changes(lambda_event("NEW_AND_OLD_IMAGES"))

    def comparable(change: Change) -> tuple[Any, ...]:
        return (
            change.event,
            change.keys,
            change.old,
            change.new,
            change.entity,
            change.sequence_number,
            change.approximate_time,
            change.view_type,
            change.is_ttl_expiry,
            change.size_bytes,
        )

    assert [comparable(c) for c in from_api] == [comparable(c) for c in from_lambda]
    assert from_api[3].is_ttl_expiry  # GetRecords spells userIdentity's members in Pascal case
    # A list of records, not only the whole response, is taken too.
    assert decode_stream_records(shop, response["Records"]) == from_api


EXPECTED_SUMMARY = {
    "placed": ["o1"],
    "status_changes": [["o1", "PLACED", "PAID"]],
    "deleted": [{"PK": "CUSTOMER#c1", "SK": "ORDER#o2"}],
    "expired": [{"PK": "CUSTOMER#c2", "SK": "ORDER#o3"}],
    "customers": ["c1"],
    "unknown": 1,
}


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_the_lambda_handler_example_on_recorded_events(view_type: str) -> None:
    summary = handler(lambda_event(view_type), context=None)
    expected = copy.deepcopy(EXPECTED_SUMMARY)
    if view_type in ("KEYS_ONLY", "OLD_IMAGE"):
        expected["placed"] = []  # nothing to read the new item from
        expected["status_changes"] = []
    if view_type == "NEW_IMAGE":
        expected["status_changes"] = [["o1", None, "PAID"]]
    assert summary == expected
    json.dumps(summary)  # a Lambda result must be JSON


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(eventName="UPSERT"), r"stream record 0: eventName 'UPSERT'"),
        (lambda r: r.pop("dynamodb"), r"stream record 0: the record has no 'dynamodb'"),
        (lambda r: r["dynamodb"].update(StreamViewType="ALL"), r"StreamViewType 'ALL'"),
        (lambda r: r["dynamodb"].update(NewImage=[1]), r"NewImage: an image must be a map"),
        (
            lambda r: r["dynamodb"]["NewImage"].update(receipt={"B": "%%%"}),
            r"NewImage.receipt: binary value '%%%' is not base64",
        ),
        (
            lambda r: r["dynamodb"]["NewImage"].update(total="42"),
            r"NewImage.total: '42' is not a typed DynamoDB value",
        ),
        (
            lambda r: r["dynamodb"].update(ApproximateCreationDateTime="noon"),
            r"ApproximateCreationDateTime 'noon' is not a time",
        ),
    ],
)
def test_malformed_records_are_refused_with_their_position(
    mutate: Callable[[dict[str, Any]], Any], message: str
) -> None:
    event = lambda_event("NEW_AND_OLD_IMAGES")
    mutate(event["Records"][0])
    with pytest.raises(ValidationError, match=message):
        shop.changes(event)


@pytest.mark.parametrize("bad", [{"records": []}, "Records", 7, [1]])
def test_what_is_not_a_batch_of_records_is_refused(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"Records|list|record 0"):
        shop.changes(bad)


# -- the embedded server's own stream ---------------------------------------------------------


def enable_stream(table: Table, view_type: str, endpoint: str) -> Any:
    """Turn on the table's stream and return a DynamoDB Streams client and the stream ARN,
    or skip when the server has no streams."""
    try:
        response = table.call(
            "UpdateTable",
            {
                "TableName": table.name,
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view_type},
            },
            idempotent=False,
        )
    except ServiceError as exc:
        pytest.skip(f"the server does not support streams: {exc}")
    arn = response.get("TableDescription", {}).get("LatestStreamArn")
    if not arn:
        pytest.skip("the server accepted StreamSpecification but reports no stream")
    client = botocore.session.get_session().create_client(
        "dynamodbstreams",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="dynaorm",
        aws_secret_access_key="dynaorm",
    )
    return client, arn


def read_stream(client: Any, arn: str) -> list[dict[str, Any]]:
    """Every record of every shard, as botocore returns GetRecords responses."""
    records: list[dict[str, Any]] = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = client.get_records(ShardIterator=iterator)
            records += response["Records"]
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return records


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_the_servers_stream_decodes_and_the_handler_runs_on_it(
    table_factory: Callable[[Table], Table], dynamodb_endpoint: str, view_type: str
) -> None:
    table = table_factory(shop)
    client, arn = enable_stream(table, view_type, dynamodb_endpoint)
    Customer(customer_id="c1", email="a@example.com").save()
    order = o1()
    order.save()
    order.status = "PAID"
    order.save()
    Order(customer_id="c1", order_id="o2", total=10).save()
    Order(customer_id="c1", order_id="o2", total=10).delete()
    coupon = {"PK": {"S": "COUPON#SUMMER"}, "SK": {"S": "COUPON"}, "_type": {"S": "Coupon"}}
    table.call("PutItem", {"TableName": table.name, "Item": coupon}, idempotent=True)

    records = read_stream(client, arn)
    changes = shop.changes({"Records": records})
    assert [(c.event, c.entity) for c in changes] == [
        ("INSERT", Customer),
        ("INSERT", Order),
        ("MODIFY", Order),
        ("INSERT", Order),
        ("REMOVE", Order),
        ("INSERT", None),
    ]
    new_images = view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    old_images = view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    modify = changes[2]
    assert modify.keys == ItemKey(Order, ORDER_KEY)
    assert modify.new == (o1("PAID") if new_images else None)
    assert modify.old == (o1() if old_images else None)
    assert changes[4].old == (
        Order(customer_id="c1", order_id="o2", total=10) if old_images else None
    )
    assert changes[4].new is None
    assert all(c.view_type == view_type for c in changes)
    assert all(isinstance(c.approximate_time, datetime) for c in changes)
    assert not any(c.is_ttl_expiry for c in changes)
    sequence = [int(c.sequence_number or 0) for c in changes]
    assert sequence == sorted(sequence)

    summary = handler({"Records": records})
    assert summary["placed"] == (["o1", "o2"] if new_images else [])
    assert summary["deleted"] == [{"PK": "CUSTOMER#c1", "SK": "ORDER#o2"}]
    assert summary["customers"] == ["c1"]
    assert summary["unknown"] == 1  # the Coupon, from its image or from its key alone
