"""Gets with ``await`` against gets from a thread pool (``async_gets_vs_threads``).

The same ``gets`` reads of ``bench/models.py``'s ``Order`` two ways: ``tasks`` asyncio tasks
awaiting ``Order.aget`` in one event loop (each task reads its share of the keys one after
another, so ``tasks`` reads are in flight), and a ``threads``-thread pool calling the sync
``Order.get``. Each way runs twice, in the order async, threads, threads, async, after a
warm-up in the same event loop or pool (clients made, connections open). Figures: wall-clock
items per second, and CPU per get, the process's CPU time (every thread of it) over the
gets; the server runs in a process of its own, so its work is not counted.

Two servers: the embedded one (moto, one request at a time: the server is the bound, so
both ways are close) and the loopback stub of ``bench/stub.py`` answering every request
after a fixed delay, concurrently, with a stored ``Order`` for ``GetItem`` (the client is
the bound: how many gets it keeps in flight, and its CPU per get).

``python -m bench.async_gets [--quick]`` runs this part alone and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import http_floor, servers
from bench.models import Order, bench_table, make_order
from bench.stub import running
from bench.throughput import load as batch_load, raw_client

GETS = 1_000
QUICK_GETS = 300
TASKS = 100
THREADS = 16
DELAY_MS = 5.0
# Keys of their own, clear of the items the other server benchmarks write.
FIRST = 900_000
_CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}

Keys = list[dict[str, str]]


def keys(gets: int) -> Keys:
    """The keys of the ``gets`` orders read (each read once per pass)."""
    return [
        {"customer_id": o.customer_id, "order_id": o.order_id}
        for o in (make_order(FIRST + n) for n in range(gets))
    ]


async def _async_pass(keys: Keys, tasks: int, warmup: Keys) -> tuple[float, float, int]:
    async def reader(share: Keys) -> int:
        found = 0
        for key in share:
            found += await Order.aget(**key) is not None
        return found

    await asyncio.gather(*(reader(warmup[n::tasks]) for n in range(tasks)))
    wall, cpu = time.perf_counter(), time.process_time()
    found = await asyncio.gather(*(reader(keys[n::tasks]) for n in range(tasks)))
    return time.perf_counter() - wall, time.process_time() - cpu, sum(found)


def _threads_pass(keys: Keys, threads: int, warmup: Keys) -> tuple[float, float, int]:
    def read(key: dict[str, str]) -> bool:
        return Order.get(**key) is not None

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, warmup))
        wall, cpu = time.perf_counter(), time.process_time()
        found = sum(pool.map(read, keys))
        return time.perf_counter() - wall, time.process_time() - cpu, found


def use(endpoint: str) -> None:
    """Point ``bench_table`` at ``endpoint``."""
    bench_table.configure(endpoint_url=endpoint, region="us-east-1", **_CREDENTIALS)


def measure(
    endpoint: str,
    *,
    gets: int = GETS,
    tasks: int = TASKS,
    threads: int = THREADS,
    expect_found: bool = True,
) -> dict[str, Any]:
    """Both ways against ``endpoint``, where the orders of :func:`keys` are stored (or, with
    ``expect_found=False``, any answer is accepted).

    Returns:
        ``{"gets", "tasks", "threads", "async_items_per_s", "threads_items_per_s",
        "async_cpu_us", "threads_cpu_us"}`` (CPU: microseconds of process CPU per get).
    """
    use(endpoint)
    read = keys(gets)
    warmup = read[: max(tasks, threads)]
    ways: dict[str, Callable[[], tuple[float, float, int]]] = {
        "async": lambda: asyncio.run(_async_pass(read, tasks, warmup)),
        "threads": lambda: _threads_pass(read, threads, warmup),
    }
    wall = dict.fromkeys(ways, 0.0)
    cpu = dict.fromkeys(ways, 0.0)
    for name in ("async", "threads", "threads", "async"):
        seconds, used, found = ways[name]()
        if expect_found:
            assert found == gets, (name, found)
        wall[name] += seconds
        cpu[name] += used
    out: dict[str, Any] = {"gets": gets, "tasks": tasks, "threads": threads}
    for name in ways:
        out[f"{name}_items_per_s"] = 2 * gets / wall[name]
        out[f"{name}_cpu_us"] = cpu[name] / (2 * gets) * 1e6
    print(
        f"  async gets ({tasks} tasks): {out['async_items_per_s']:,.0f}/s, "
        f"{out['async_cpu_us']:,.0f} µs CPU each; {threads} threads: "
        f"{out['threads_items_per_s']:,.0f}/s, {out['threads_cpu_us']:,.0f} µs CPU each",
        file=sys.stderr,
        flush=True,
    )
    return out


def load(endpoint: str, gets: int) -> None:
    """Store the orders of :func:`keys` on ``endpoint`` (the table exists)."""
    client = raw_client(endpoint, parameter_validation=False)
    items = (make_order(FIRST + n).to_item() for n in range(gets))
    batch_load(client, bench_table.name, items)


def on_embedded(endpoint: str, gets: int = GETS) -> dict[str, Any]:
    """The measurement on the embedded server at ``endpoint`` (``bench_table`` created)."""
    load(endpoint, gets)
    return {"server": "embedded", **measure(endpoint, gets=gets)}


def on_stub(gets: int = GETS, delay_ms: float = DELAY_MS) -> dict[str, Any]:
    """The measurement against the loopback stub, answering every ``GetItem`` with an
    ``Order`` after ``delay_ms``."""
    item = make_order(FIRST).to_item()
    with running(delay_ms, get_item=item) as endpoint:
        measured = measure(endpoint, gets=gets)
        floor = http_floor.measure(endpoint, requests=gets, tasks=TASKS)
    print(
        f"  one async request, no dynaorm: httpx {floor['httpx_cpu_us']:,.0f} µs CPU, "
        f"asyncio streams {floor['streams_cpu_us']:,.0f} µs",
        file=sys.stderr,
        flush=True,
    )
    return {"server": "stub", "delay_ms": delay_ms, **measured, "http_floor": floor}


KEYS = (
    "async_gets_vs_threads",
    "async_gets_cpu_vs_threads",
    "async_gets_items_per_s",
    "threads_gets_items_per_s",
    "async_gets_cpu_us",
    "threads_gets_cpu_us",
)


def flat(measured: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The keys of ``bench/results.json``: unprefixed for the stub (the client-bound
    headline), ``embedded_`` for the embedded server."""
    out: dict[str, float] = {}
    for server, prefix in (("stub", ""), ("embedded", "embedded_")):
        m = measured.get(server)
        if not m:
            continue
        values = (
            m["async_items_per_s"] / m["threads_items_per_s"],
            m["async_cpu_us"] / m["threads_cpu_us"],
            m["async_items_per_s"],
            m["threads_items_per_s"],
            m["async_cpu_us"],
            m["threads_cpu_us"],
        )
        out.update({f"{prefix}{key}": value for key, value in zip(KEYS, values, strict=True)})
        floor = m.get("http_floor")
        if floor:
            out[f"{prefix}async_http_httpx_cpu_us"] = floor["httpx_cpu_us"]
            out[f"{prefix}async_http_streams_cpu_us"] = floor["streams_cpu_us"]
    return out


SECTION = "## Async gets against a thread pool"


def section(measured: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The ``docs/benchmarks.md`` section of this measurement."""
    lines = [SECTION, ""]
    for server in ("stub", "embedded"):
        m = measured.get(server)
        if not m:
            continue
        where = (
            f"the loopback stub answering every request after {m['delay_ms']:g} ms, "
            "concurrently (client-bound; keys without a prefix)"
            if server == "stub"
            else "the embedded server (one request at a time; keys `embedded_*`)"
        )
        ratio = m["async_items_per_s"] / m["threads_items_per_s"]
        lines += [
            f"{m['gets']:,} gets of an `Order` per way, against {where}:",
            "",
            "| way | gets/s | CPU µs per get |",
            "|---|---:|---:|",
            f"| {m['tasks']} asyncio tasks, `await Order.aget(...)` "
            f"| {m['async_items_per_s']:,.0f} | {m['async_cpu_us']:,.0f} |",
            f"| {m['threads']}-thread pool, `Order.get(...)` "
            f"| {m['threads_items_per_s']:,.0f} | {m['threads_cpu_us']:,.0f} |",
            f"| async / threads | {ratio:.2f} | {m['async_cpu_us'] / m['threads_cpu_us']:.2f} |",
            "",
        ]
        if server == "stub":
            delay = m["delay_ms"] / 1000
            lines += [
                f"With {m['delay_ms']:g} ms per request, {m['tasks']} requests in flight "
                f"would allow {m['tasks'] / delay:,.0f} gets/s and {m['threads']} threads "
                f"{m['threads'] / delay:,.0f}; at the CPU per get measured, one core allows "
                f"{1e6 / m['async_cpu_us']:,.0f} async gets/s (the event loop is one "
                f"thread) and {1e6 / m['threads_cpu_us']:,.0f} sync ones (the threads "
                "share the interpreter lock, so about one core in all).",
                "",
            ]
        floor = m.get("http_floor")
        if floor:
            lines += [
                f"The HTTP client's own share (`bench/http_floor.py`, the same number of "
                f"POSTs from {m['tasks']} tasks, no dynaorm): through `httpx.AsyncClient` "
                f"{floor['httpx_cpu_us']:,.0f} µs of CPU per request "
                f"({floor['httpx_per_s']:,.0f}/s), over bare asyncio streams "
                f"{floor['streams_cpu_us']:,.0f} µs ({floor['streams_per_s']:,.0f}/s) "
                "(keys `async_http_httpx_cpu_us`, `async_http_streams_cpu_us`).",
                "",
            ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.async_gets", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_GETS} gets, not {GETS}")
    parser.add_argument("--no-embedded", action="store_true", help="the stub only")
    args = parser.parse_args(argv)
    gets = QUICK_GETS if args.quick else GETS
    measured: dict[str, Any] = {"stub": on_stub(gets)}
    if not args.no_embedded:
        with servers.embedded() as endpoint:
            use(endpoint)
            bench_table.create()
            measured["embedded"] = on_embedded(endpoint, gets)
    print(json.dumps({k: round(v, 3) for k, v in flat(measured).items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
