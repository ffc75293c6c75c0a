"""Throughput against a real server over HTTP: batch writes, query paging, parallel scan and
the memory a long query takes.

Every figure is items per second of wall time; the variants of one measurement run back to
back on the same server, twice, in opposite orders, and the batch writes each on keys of their
own (so every variant inserts, none overwrites).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import boto3
import botocore.session
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from bench.events import Event, event_item, events_table
from bench.models import bench_table, make_order, make_pynamo_order, pynamo_model


@attrs.frozen
class Sizes:
    """How many items each measurement uses."""

    batch: int = 10_000
    put_loop: int = 10_000
    query: int = 10_000
    scan: int = 50_000
    memory: int = 100_000


# A save() loop runs at the server's per-request speed; 2,000 items give a steady rate.
DYNALITE = Sizes(put_loop=2_000)
# The embedded server scans a large table slowly (it walks the whole table for every page), so
# its scan uses fewer items; everything else is the same.
EMBEDDED = Sizes(put_loop=2_000, scan=5_000)
QUICK = Sizes(batch=200, put_loop=50, query=300, scan=400, memory=1_000)

_CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def raw_client(endpoint: str, **config: Any) -> Any:
    """A botocore client for ``endpoint`` (botocore's defaults unless ``config`` says)."""
    return botocore.session.Session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=Config(**config) if config else None,
        **_CREDENTIALS,
    )


def load(client: Any, table: str, items: Iterable[dict[str, Any]], *, threads: int = 4) -> None:
    """Write ``items`` with raw BatchWriteItem requests of 25 from a few threads."""

    def send(chunk: list[dict[str, Any]]) -> None:
        pending = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while pending:
            response = client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}

    chunks: list[list[dict[str, Any]]] = [[]]
    for item in items:
        if len(chunks[-1]) == 25:
            chunks.append([])
        chunks[-1].append(item)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))


def batch_writes(endpoint: str, sizes: Sizes) -> dict[str, float]:
    """Items/s: a save() loop, batch_write with 1 and 4 workers, PynamoDB, boto3.

    Each variant writes half of its items in a first pass over the variants and the other half
    in a second pass in the opposite order, so drift (a busy machine, a growing table) hits
    them alike.
    """
    model = pynamo_model(endpoint)
    resource = boto3.resource(
        "dynamodb", region_name="us-east-1", endpoint_url=endpoint, **_CREDENTIALS
    )
    boto3_table = resource.Table(bench_table.name)
    decode = TypeDeserializer().deserialize

    def put_loop(orders: list[Any]) -> None:
        for order in orders:
            order.save()

    def dynaorm_batch(workers: int) -> Callable[[list[Any]], None]:
        def write(orders: list[Any]) -> None:
            with bench_table.batch_write(workers=workers) as batch:
                for order in orders:
                    batch.put(order)

        return write

    def pynamo_batch(orders: list[Any]) -> None:
        with model.batch_write() as batch:
            for order in orders:
                batch.save(order)

    def boto3_batch(items: list[Any]) -> None:
        with boto3_table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=item)

    def boto3_item(n: int) -> dict[str, Any]:
        return {k: decode(v) for k, v in make_order(n).to_item().items()}

    # name -> (write the inputs, make the input for item number n, items in all)
    variants: dict[str, tuple[Callable[[list[Any]], None], Callable[[int], Any], int]] = {
        "put_loop": (put_loop, make_order, sizes.put_loop),
        "batch_write_1": (dynaorm_batch(1), make_order, sizes.batch),
        "batch_write_4": (dynaorm_batch(4), make_order, sizes.batch),
        "pynamodb": (pynamo_batch, lambda n: make_pynamo_order(n, model), sizes.batch),
        "boto3": (boto3_batch, boto3_item, sizes.batch),
    }
    span = max(sizes.batch, sizes.put_loop)
    seconds = dict.fromkeys(variants, 0.0)
    names = list(variants)
    for half, order in enumerate((names, names[::-1])):
        for name in order:
            write, make, count = variants[name]
            base = (names.index(name) * 2 + half) * span
            inputs = [make(base + i) for i in range(count // 2)]
            start = time.perf_counter()
            write(inputs)
            seconds[name] += time.perf_counter() - start
    rates = {name: (variants[name][2] // 2 * 2) / seconds[name] for name in names}
    for name, rate in rates.items():
        _log(f"{name}: {rate:,.0f} items/s")
    return rates


def query_paging(endpoint: str, sizes: Sizes, client: Any) -> dict[str, float]:
    """Items/s reading one partition: dynaorm iteration vs a raw botocore paging loop."""
    load(client, events_table.name, (event_item("q", i) for i in range(sizes.query)))
    query = Event.query(stream="q")
    request = query.compile()
    raw = raw_client(endpoint)

    def dynaorm_pass() -> None:
        count = sum(1 for _ in query)
        assert count == sizes.query, count

    def read_ahead_pass() -> None:
        count = sum(1 for _ in query.read_ahead())
        assert count == sizes.query, count

    def botocore_pass() -> None:
        count, page = 0, dict(request)
        while True:
            response = raw.query(**page)
            count += len(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            page = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}
        assert count == sizes.query, count

    seconds = {"dynaorm": 0.0, "read_ahead": 0.0, "botocore": 0.0}
    passes = (
        ("dynaorm", dynaorm_pass),
        ("read_ahead", read_ahead_pass),
        ("botocore", botocore_pass),
    )
    for name, fn in (*passes, *reversed(passes)):
        start = time.perf_counter()
        fn()
        seconds[name] += time.perf_counter() - start
    rates = {name: 2 * sizes.query / s for name, s in seconds.items()}
    _log(
        f"query paging: {rates['dynaorm']:,.0f} (read ahead {rates['read_ahead']:,.0f}) "
        f"vs botocore {rates['botocore']:,.0f} items/s"
    )
    return rates


def parallel_scan(sizes: Sizes, client: Any) -> dict[str, float]:
    """Items/s scanning the whole table with 1, 2 and 4 segments (two passes each)."""
    load(client, events_table.name, (event_item(f"s{i % 1000}", i) for i in range(sizes.scan)))
    seconds = {1: 0.0, 2: 0.0, 4: 0.0}
    for segments in (1, 2, 4, 4, 2, 1):  # twice, in both orders
        scan = Event.scan() if segments == 1 else Event.scan().segments(segments)
        start = time.perf_counter()
        count = sum(1 for _ in scan)
        seconds[segments] += time.perf_counter() - start
        assert count == sizes.scan, count
    rates = {f"segments_{n}": 2 * sizes.scan / s for n, s in seconds.items()}
    for name, rate in rates.items():
        _log(f"scan {name}: {rate:,.0f} items/s")
    return rates


def memory(endpoint: str, sizes: Sizes, client: Any) -> dict[str, float]:
    """Peak RSS growth of a fresh process iterating a ``sizes.memory``-item query."""
    load(client, events_table.name, (event_item("m", i) for i in range(sizes.memory)))
    start = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-m", "bench.memory", endpoint, "m"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seconds = time.perf_counter() - start
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    assert result["items"] == sizes.memory, result
    result["growth_mb"] = result["peak_after_mb"] - result["peak_before_mb"]
    result["items_per_s"] = sizes.memory / seconds
    _log(f"memory: {result['growth_mb']:.1f} MB growth over {sizes.memory:,} items")
    return result


def run(endpoint: str, sizes: Sizes, *, with_memory: bool) -> dict[str, Any]:
    """Every server measurement against ``endpoint`` (fresh tables are created)."""
    for table in (bench_table, events_table):
        table.configure(endpoint_url=endpoint, region="us-east-1", **_CREDENTIALS)
    bench_table.create()
    events_table.create()
    assert event_item("x", 1) == Event(stream="x", seq=1, kind="click", payload="x" * 100).to_item()
    loader = raw_client(endpoint, parameter_validation=False, max_pool_connections=8)
    out: dict[str, Any] = {"sizes": attrs.asdict(sizes)}
    started = time.perf_counter()
    out["batch"] = batch_writes(endpoint, sizes)
    out["scan"] = parallel_scan(sizes, loader)
    out["query"] = query_paging(endpoint, sizes, loader)
    if with_memory:
        out["memory"] = memory(endpoint, sizes, loader)
    out["seconds"] = time.perf_counter() - started
    return out
