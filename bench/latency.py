"""Parallel batch writes where the client, not the server, is the limit (``bench/stub.py``).

Against a stub that answers every request after a fixed 5 ms, concurrently, dynaorm's
``batch_write(workers=4)`` keeps four requests in flight while boto3's
``Table.batch_writer()`` sends one at a time; both are charged their own encoding. boto3 is
configured as dynaorm configures its client: no parameter validation, standard retry mode with
one attempt, the same endpoint.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from bench.models import bench_table, make_order
from bench.overhead import FAIR
from bench.stub import running

ITEMS = 5_000
QUICK_ITEMS = 200
_CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def measure(
    items: int = ITEMS, *, transports: tuple[str | None, ...] = (None,), delay_ms: float = 5.0
) -> dict[str, Any]:
    """Items/s of ``batch_write(workers=4)`` per dynaorm transport and of boto3's
    ``batch_writer()``, writing ``items`` new items each (half in a first pass over the
    variants, half in a second pass in the opposite order).

    Returns:
        ``{"items": n, "delay_ms": d, "boto3": rate, "dynaorm": {transport: rate}}``, the
        transport named ``"default"`` when ``Settings`` has no ``transport`` option.
    """
    decode = TypeDeserializer().deserialize
    with running(delay_ms) as endpoint:
        resource = boto3.resource(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=endpoint,
            config=Config(**FAIR),
            **_CREDENTIALS,
        )
        boto3_table = resource.Table(bench_table.name)

        def use(transport: str | None) -> Callable[[], None]:
            chosen = {} if transport is None else {"transport": transport}
            return lambda: bench_table.configure(
                endpoint_url=endpoint, region="us-east-1", **_CREDENTIALS, **chosen
            )

        def dynaorm_batch(orders: list[Any]) -> None:
            with bench_table.batch_write(workers=4) as batch:
                for order in orders:
                    batch.put(order)

        def boto3_batch(rows: list[Any]) -> None:
            with boto3_table.batch_writer() as batch:
                for row in rows:
                    batch.put_item(Item=row)

        def boto3_row(n: int) -> dict[str, Any]:
            return {k: decode(v) for k, v in make_order(n).to_item().items()}

        # name -> (set up, write the inputs, make the input for item number n)
        Variant = tuple[Callable[[], None], Callable[[list[Any]], None], Callable[[int], Any]]
        variants: dict[str, Variant] = {
            f"dynaorm_{transport or 'default'}": (use(transport), dynaorm_batch, make_order)
            for transport in transports
        }
        variants["boto3"] = (lambda: None, boto3_batch, boto3_row)
        names = list(variants)
        for setup, write, make in variants.values():  # warm up: clients, connections, caches
            setup()
            write([make(n) for n in range(50)])
        seconds = dict.fromkeys(names, 0.0)
        half = max(items // 2, 1)
        for order in (names, names[::-1]):
            for name in order:
                setup, write, make = variants[name]
                inputs = [make(n) for n in range(half)]
                setup()
                start = time.perf_counter()
                write(inputs)
                seconds[name] += time.perf_counter() - start
    rates = {name: 2 * half / s for name, s in seconds.items()}
    for name, rate in rates.items():
        print(f"  stub {name}: {rate:,.0f} items/s", file=sys.stderr, flush=True)
    return {
        "items": 2 * half,
        "delay_ms": delay_ms,
        "boto3": rates.pop("boto3"),
        "dynaorm": {name.removeprefix("dynaorm_"): rate for name, rate in rates.items()},
    }
