"""Client-side cost per operation: dynaorm vs raw botocore vs PynamoDB, HTTP short-circuited.

Every client gets a botocore ``before-send`` handler that answers with a canned response, so
no request leaves the process and only client CPU is timed: building the request,
serializing, signing, parsing the response and (for the libraries) decoding it.

The botocore baseline sends the very request dynaorm sends (taken from dynaorm's own compile
step) with a client made with botocore's defaults, as a user calling botocore directly would.
It also runs with ``parameter_validation=False`` (what dynaorm and PynamoDB configure), so the
report can show how much of the difference that one setting is. That client (the fair
baseline) is configured as dynaorm configures its own: no validation, standard retry mode with
one attempt (dynaorm retries under its own policy).

When dynaorm's ``Settings`` has a ``transport`` option, every transport is measured in turn
(:func:`transports`); the lean transport's pool is answered with the same canned responses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import botocore.session
from botocore.config import Config

from bench import canned
from bench.models import (
    ENDPOINT,
    Order,
    PynamoOrder,
    bench_table,
    make_order,
    make_pynamo_order,
)
from bench.timing import Timing, interleaved
from dynaorm import Settings

PAGE = 25
# What dynaorm's own botocore client is configured with (dynaorm.wire.clients), for the
# fair baseline.
FAIR = {"parameter_validation": False, "retries": {"mode": "standard", "total_max_attempts": 1}}


def transports() -> tuple[str | None, ...]:
    """dynaorm's transports to measure, the one the headline ratios use first; ``(None,)``
    when ``Settings`` has no ``transport`` option (one transport, left as configured)."""
    if "transport" not in attrs.fields_dict(Settings):
        return (None,)
    from dynaorm.base import settings

    names: tuple[str, ...] = getattr(settings, "TRANSPORTS", ("lean", "botocore"))
    return tuple(sorted(names, key=lambda name: name != "lean"))


def _client(**config: Any) -> Any:
    return botocore.session.Session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(**config) if config else None,
    )


def _setup(transport: str | None) -> tuple[Any, Any, Any]:
    # The table's own settings, so the global ones (a test session's) stay as they are.
    chosen = {} if transport is None else {"transport": transport}
    bench_table.configure(
        endpoint_url=ENDPOINT,
        region="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        **chosen,
    )
    pynamo_client = PynamoOrder._get_connection().connection.client
    return _client(), _client(**FAIR), pynamo_client


def _update_request(order: Order) -> dict[str, Any]:
    # The very request order.update(...) below sends (its write plan, compiled).
    return order.update_plan(Order.status.set("PAID"), condition=Order.status == "PAID").compile()


def measure(*, ops: int = 100, rounds: int = 11, transport: str | None = None) -> dict[str, Timing]:
    """Time put, get, update, a query page and a batch write for every client
    (dynaorm on ``transport``; ``None``: as configured).

    Returns:
        Operation name -> timings of ``dynaorm``, ``botocore``, ``botocore_novalidate`` and
        ``pynamodb``.
    """
    client, plain, pynamo_client = _setup(transport)
    order = make_order()
    item = order.to_item()
    key = order.item_key.to_request()
    orders = [make_order(n) for n in range(PAGE)]
    pynamo_orders = [make_pynamo_order(n) for n in range(PAGE)]
    put_requests = [{"PutRequest": {"Item": o.to_item()}} for o in orders]
    query = Order.query(customer_id="c1").limit(PAGE)
    query_request = query.compile()
    responses = {
        "PutItem": {},
        "GetItem": {"Item": item},
        "UpdateItem": {"Attributes": item},
        "Query": {"Items": [item] * PAGE, "Count": PAGE, "ScannedCount": PAGE},
        "BatchWriteItem": {"UnprocessedItems": {}},
    }
    clients = (client, plain, pynamo_client, bench_table.transport.client)
    undo = [canned.install(c, responses) for c in clients]
    lean = getattr(bench_table.transport, "lean", None)
    if lean is not None:
        undo.append(canned.install_pool(lean, responses))
    pynamo_order = make_pynamo_order()
    update_request = _update_request(order)
    placed = update_request["ExpressionAttributeValues"]
    gsi1sk = next(v["S"] for v in placed.values() if "S" in v and v["S"][:2] == "20")
    pynamo_update = [
        PynamoOrder.status.set("PAID"),
        PynamoOrder.GSI1PK.set("STATUS#PAID"),
        PynamoOrder.GSI1SK.set(gsi1sk),
    ]
    batch_request = {"RequestItems": {"bench": put_requests}, "ReturnConsumedCapacity": "TOTAL"}

    def raw(method: str, **request: Any) -> dict[str, Callable[[], object]]:
        return {
            "botocore": lambda: getattr(client, method)(**request),
            "botocore_novalidate": lambda: getattr(plain, method)(**request),
        }

    def dynaorm_batch() -> None:
        with bench_table.batch_write() as batch:
            for o in orders:
                batch.put(o)

    def pynamo_batch() -> None:
        with PynamoOrder.batch_write() as batch:
            for o in pynamo_orders:
                batch.save(o)

    cases: dict[str, tuple[dict[str, Callable[[], object]], int]] = {
        "put": (
            {
                "dynaorm": order.save,
                # dynaorm's transport alone, with the request ready: save() minus encoding.
                "transport": lambda: bench_table.call(
                    "PutItem", {"TableName": "bench", "Item": item}, idempotent=False
                ),
                **raw("put_item", TableName="bench", Item=item),
                "pynamodb": pynamo_order.save,
            },
            ops,
        ),
        "get": (
            {
                "dynaorm": lambda: Order.get(customer_id="c1", order_id="o000001"),
                # get() minus building the key and decoding the item.
                "transport": lambda: bench_table.call(
                    "GetItem",
                    {"TableName": "bench", "Key": key, "ConsistentRead": False},
                    idempotent=True,
                ),
                **raw("get_item", TableName="bench", Key=key),
                "pynamodb": lambda: PynamoOrder.get("CUSTOMER#c1", "ORDER#o000001"),
            },
            ops,
        ),
        "update": (
            {
                "dynaorm": lambda: order.update(
                    Order.status.set("PAID"), condition=Order.status == "PAID"
                ),
                **raw("update_item", **update_request),
                "pynamodb": lambda: pynamo_order.update(
                    pynamo_update, condition=PynamoOrder.status == "PAID"
                ),
            },
            ops,
        ),
        "query_page": (
            {
                "dynaorm": query.page,
                **raw("query", **query_request),
                "pynamodb": lambda: list(
                    PynamoOrder.query(
                        "CUSTOMER#c1",
                        PynamoOrder.SK.startswith("ORDER#"),
                        filter_condition=PynamoOrder._type == "Order",
                        limit=PAGE,
                    )
                ),
            },
            max(ops // 8, 5),
        ),
        "batch_write": (
            {
                "dynaorm": dynaorm_batch,
                **raw("batch_write_item", **batch_request),
                "pynamodb": pynamo_batch,
            },
            max(ops // 8, 5),
        ),
    }
    try:
        return {
            name: interleaved(variants, ops=n, rounds=rounds, warmup=min(n, 50))
            for name, (variants, n) in cases.items()
        }
    finally:
        for uninstall in undo:
            uninstall()


def measure_serialization(*, ops: int = 300, rounds: int = 11) -> dict[str, Timing]:
    """Time one item to the wire format and back, dynaorm vs PynamoDB (same data)."""
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


def measure_parts(*, ops: int = 300, rounds: int = 11) -> Timing:
    """dynaorm's own steps inside the operations above, to explain their cost: building a
    key, encoding and decoding an item, and compiling the update."""
    order = make_order()
    item = order.to_item()
    return interleaved(
        {
            "key": lambda: Order.key(customer_id="c1", order_id="o000001").to_request(),
            "encode": order.to_item,
            "pynamodb_serializer": lambda: order._container_serialize(null_check=True),
            "decode": lambda: Order.from_item(item),
            "update_plan": lambda: _update_request(order),
        },
        ops=ops,
        rounds=rounds,
    )


if __name__ == "__main__":
    for name, timing in {**measure(), **measure_serialization()}.items():
        base = "botocore" if "botocore" in timing.rounds else "pynamodb"
        medians = {k: f"{timing.median(k) * 1e6:.1f}us" for k in timing.rounds}
        print(name, medians, f"dynaorm/{base} = {timing.ratio('dynaorm', base):.3f}")
