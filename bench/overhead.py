"""Client-side cost per operation: dynaorm vs raw botocore vs PynamoDB, HTTP short-circuited."""

from __future__ import annotations

from typing import Any

import botocore.session

import dynaorm
from bench import canned
from bench.models import ENDPOINT, Order, PynamoOrder, bench_table, make_order, make_pynamo_order
from bench.timing import Timing, interleaved


def _setup() -> tuple[Any, Any]:
    dynaorm.configure(
        endpoint_url=ENDPOINT,
        region="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    # A separate client with botocore's defaults: what a user calling botocore directly has.
    client = botocore.session.Session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    pynamo_client = PynamoOrder._get_connection().connection.client
    return client, pynamo_client


def measure(*, ops: int = 400, rounds: int = 15) -> dict[str, Timing]:
    client, pynamo_client = _setup()
    order = make_order()
    item = order.to_item()
    key = order.item_key.to_request()
    responses = {"PutItem": {}, "GetItem": {"Item": item}, "UpdateItem": {"Attributes": item}}
    undo = [
        canned.install(client, responses),
        canned.install(pynamo_client, responses),
        canned.install(bench_table.transport.client, responses),
    ]
    try:
        pynamo_order = make_pynamo_order()
        results = {
            "put": interleaved(
                {
                    "dynaorm": order.save,
                    "botocore": lambda: client.put_item(TableName="bench", Item=item),
                    "pynamodb": pynamo_order.save,
                },
                ops=ops,
                rounds=rounds,
            ),
            "get": interleaved(
                {
                    "dynaorm": lambda: Order.get(customer_id="c1", order_id="o000001"),
                    "botocore": lambda: client.get_item(TableName="bench", Key=key),
                    "pynamodb": lambda: PynamoOrder.get("CUSTOMER#c1", "ORDER#o000001"),
                },
                ops=ops,
                rounds=rounds,
            ),
        }
    finally:
        for uninstall in undo:
            uninstall()
    return results


def measure_serialization(*, ops: int = 2000, rounds: int = 15) -> dict[str, Timing]:
    order, pynamo_order = make_order(), make_pynamo_order()
    item = order.to_item()
    return {
        "serialize": interleaved(
            {"dynaorm": order.to_item, "pynamodb": pynamo_order.serialize},
            ops=ops,
            rounds=rounds,
        ),
        "deserialize": interleaved(
            {
                "dynaorm": lambda: Order.from_item(item),
                "pynamodb": lambda: PynamoOrder.from_raw_data(item),
            },
            ops=ops,
            rounds=rounds,
        ),
    }


if __name__ == "__main__":
    for name, timing in {**measure(), **measure_serialization()}.items():
        base = "botocore" if "botocore" in timing.rounds else "pynamodb"
        medians = {k: f"{timing.median(k) * 1e6:.1f}us" for k in timing.rounds}
        print(name, medians, f"dynaorm/{base} = {timing.ratio('dynaorm', base):.3f}")
