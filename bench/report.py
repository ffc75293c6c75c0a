"""Writing the results: ``bench/results.json`` (flat ratios) and ``docs/benchmarks.md``."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import async_gets, plugin_startup
from bench.explain import explain
from bench.timing import Timing

# Results key -> target as (comparison, bound), or None.
TARGETS: dict[str, tuple[str, float] | None] = {
    "put_vs_botocore": ("<=", 1.05),
    "get_vs_botocore": ("<=", 1.05),
    "update_vs_botocore": ("<=", 1.05),
    "query_page_vs_botocore": None,
    "batch_write_vs_botocore": None,
    # The fair baseline (botocore configured as dynaorm's client), issue 15's targets.
    "put_vs_botocore_novalidate": ("<=", 0.5),
    "get_vs_botocore_novalidate": ("<=", 0.5),
    "update_vs_botocore_novalidate": ("<=", 0.5),
    "query_page_vs_botocore_novalidate": ("<=", 0.5),
    "batch_write_vs_botocore_novalidate": ("<=", 0.5),
    "batch_write_latency_vs_boto3": (">=", 3.0),
    "serialize_vs_pynamodb": ("<=", 1.0),
    "deserialize_vs_pynamodb": ("<=", 1.10),
    "batch_write_vs_put_loop": (">=", 12.0),
    "batch_write_vs_pynamodb": (">=", 1.5),
    "query_paging_vs_botocore": (">=", 0.95),
    "query_paging_read_ahead_vs_botocore": (">=", 0.95),
    "scan_4_vs_1": None,
    "iter_100k_rss_mb": ("<", 50.0),
    "pytest_plugin_startup_s": None,
    "pytest_plugin_startup_without_s": None,
    # Async gets from 100 tasks against a 16-thread pool (bench/async_gets.py), reported
    # without targets; the same keys prefixed embedded_ for the embedded server.
    **dict.fromkeys(async_gets.KEYS),
    "async_http_httpx_cpu_us": None,
    "async_http_streams_cpu_us": None,
}


OPERATIONS = ("put", "get", "update", "query_page", "batch_write")


def transport_prefix(transport: str) -> str:
    """The prefix of the keys measured on a transport other than the headline one."""
    return f"{transport}_transport_"


def _target(key: str) -> tuple[str, float] | None:
    # A second transport's ratios are reported for comparison, without a target.
    return TARGETS.get(key.removeprefix("dynalite_"))


def meets(key: str, value: float) -> bool | None:
    """Whether ``value`` meets the target of ``key`` (``None``: no target)."""
    target = _target(key)
    if target is None:
        return None
    op, bound = target
    return {"<=": value <= bound, ">=": value >= bound, "<": value < bound}[op]


def ratios(results: Mapping[str, Any]) -> dict[str, float]:
    """The flat object of ``bench/results.json``."""
    out: dict[str, float] = {}
    client: Mapping[str, Timing] = results["client"]
    for op in OPERATIONS:
        out[f"{op}_vs_botocore"] = client[op].ratio("dynaorm", "botocore")
    for op in OPERATIONS:
        out[f"{op}_vs_botocore_novalidate"] = client[op].ratio("dynaorm", "botocore_novalidate")
    others: Mapping[str, Mapping[str, Timing]] = results.get("client_transports", {})
    for transport, timings in others.items():
        for op in OPERATIONS:
            out[f"{transport_prefix(transport)}{op}_vs_botocore_novalidate"] = timings[op].ratio(
                "dynaorm", "botocore_novalidate"
            )
    stub = results.get("stub")
    if stub:
        rates = list(stub["dynaorm"].items())
        out["batch_write_latency_vs_boto3"] = rates[0][1] / stub["boto3"]
        for transport, rate in rates[1:]:
            out[f"{transport_prefix(transport)}batch_write_latency_vs_boto3"] = rate / stub["boto3"]
    serial: Mapping[str, Timing] = results["serialization"]
    for op in ("serialize", "deserialize"):
        out[f"{op}_vs_pynamodb"] = serial[op].ratio("dynaorm", "pynamodb")
    for server, prefix in (("embedded", ""), ("dynalite", "dynalite_")):
        measured = results["servers"].get(server)
        if not measured:
            continue
        batch, query, scan = measured["batch"], measured["query"], measured["scan"]
        out[f"{prefix}batch_write_vs_put_loop"] = batch["batch_write_4"] / batch["put_loop"]
        out[f"{prefix}batch_write_vs_pynamodb"] = batch["batch_write_4"] / batch["pynamodb"]
        out[f"{prefix}query_paging_vs_botocore"] = query["dynaorm"] / query["botocore"]
        out[f"{prefix}query_paging_read_ahead_vs_botocore"] = (
            query["read_ahead"] / query["botocore"]
        )
        out[f"{prefix}scan_4_vs_1"] = scan["segments_4"] / scan["segments_1"]
    memory = results.get("memory")
    if memory:
        out["iter_100k_rss_mb"] = memory["growth_mb"]
    startup = results.get("plugin_startup")
    if startup:
        out.update(plugin_startup.flat(startup))
    out.update(async_gets.flat(results.get("async_gets") or {}))
    return {k: round(v, 3) for k, v in out.items()}


def write_json(path: Path, flat: Mapping[str, float]) -> None:
    path.write_text(json.dumps(dict(flat), indent=2, sort_keys=True) + "\n")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the numbers were measured on."""
    info = {
        "CPU": f"{_cpu()}, {os.cpu_count()} logical cores",
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "Load average at start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for package in ("dynaorm", "pynamodb", "botocore", "boto3", "moto", "werkzeug"):
        info[package] = _version(package)
    info.update(extra or {})
    return info


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def _verdict(key: str, value: float) -> str:
    target = _target(key)
    if target is None:
        return "—"
    ok = meets(key, value)
    return f"{target[0]} {target[1]:g}: {'met' if ok else '**not met**'}"


def _client_table(client: Mapping[str, Timing], *, prefix: str = "") -> list[str]:
    """Both baselines: botocore's defaults (validation on) and the fair one (configured as
    dynaorm's client: no validation); the targets are on the fair one."""
    lines = [
        "| operation | dynaorm µs | botocore µs | botocore, no validation µs | PynamoDB µs "
        "| dynaorm / botocore | dynaorm / botocore no validation | PynamoDB / botocore no "
        "validation | target (fair baseline) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for op, timing in client.items():
        fair = timing.ratio("dynaorm", "botocore_novalidate")
        lines.append(
            f"| {op} | {_us(timing.median('dynaorm'))} | {_us(timing.median('botocore'))} "
            f"| {_us(timing.median('botocore_novalidate'))} | {_us(timing.median('pynamodb'))} "
            f"| {timing.ratio('dynaorm', 'botocore'):.3f} | {fair:.3f} "
            f"| {timing.ratio('pynamodb', 'botocore_novalidate'):.3f} "
            f"| {_verdict(f'{prefix}{op}_vs_botocore_novalidate', fair)} |"
        )
    return lines


def _transport_tables(results: Mapping[str, Any]) -> list[str]:
    """One client-cost table per dynaorm transport besides the headline one."""
    lines: list[str] = []
    others: Mapping[str, Mapping[str, Timing]] = results.get("client_transports", {})
    for transport, timings in others.items():
        lines += [
            "",
            f"dynaorm on the `{transport}` transport "
            f"(keys `{transport_prefix(transport)}*`, reported without targets):",
            "",
            *_client_table(timings, prefix=transport_prefix(transport)),
        ]
    return lines


def _stub_table(stub: Mapping[str, Any]) -> list[str]:
    """Items/s against the loopback stub (``bench/stub.py``)."""
    lines = [
        f"{stub['items']:,} new `Order` items per variant against a loopback stub answering "
        f"every request after {stub['delay_ms']:g} ms, concurrently (wall clock):",
        "",
        "| client | items/s | / boto3 | target |",
        "|---|---:|---:|---|",
    ]
    for number, (transport, rate) in enumerate(stub["dynaorm"].items()):
        key = "batch_write_latency_vs_boto3"
        label = "dynaorm `batch_write(workers=4)`"
        if number:
            key = transport_prefix(transport) + key
        if transport != "default":
            label += f", `{transport}` transport"
        ratio = rate / stub["boto3"]
        lines.append(f"| {label} | {rate:,.0f} | {ratio:.2f} | {_verdict(key, ratio)} |")
    lines.append(f"| boto3 `Table.batch_writer()` | {stub['boto3']:,.0f} | 1.00 | — |")
    return lines


def _serial_table(serial: Mapping[str, Timing]) -> list[str]:
    lines = [
        "| direction | dynaorm µs | PynamoDB µs | dynaorm / PynamoDB | target |",
        "|---|---:|---:|---:|---|",
    ]
    for op, timing in serial.items():
        ratio = timing.ratio("dynaorm", "pynamodb")
        lines.append(
            f"| {op} | {_us(timing.median('dynaorm'))} | {_us(timing.median('pynamodb'))} "
            f"| {ratio:.3f} | {_verdict(f'{op}_vs_pynamodb', ratio)} |"
        )
    return lines


def _server_tables(servers: Mapping[str, Any]) -> list[str]:
    names = list(servers)
    head = "| | " + " | ".join(f"{n} (items/s)" for n in names) + " |"
    rule = "|---|" + "---:|" * len(names)

    def row(label: str, pick: Any) -> str:
        return f"| {label} | " + " | ".join(f"{pick(servers[n]):,.0f}" for n in names) + " |"

    def sizes(what: str) -> str:
        return ", ".join(f"{servers[n]['sizes'][what]:,} items on {n}" for n in names)

    lines = [
        f"Batch writes of new `Order` items ({sizes('batch')}; the `save()` loop: "
        f"{sizes('put_loop')}):",
        "",
        head,
        rule,
    ]
    for label, key in (
        ("`save()` loop", "put_loop"),
        ("`batch_write(workers=1)`", "batch_write_1"),
        ("`batch_write(workers=4)`", "batch_write_4"),
        ("PynamoDB `batch_write()`", "pynamodb"),
        ("boto3 `Table.batch_writer()`", "boto3"),
    ):
        lines.append(row(label, lambda r, key=key: r["batch"][key]))
    lines += ["", f"Query paging, one partition ({sizes('query')}):", "", head, rule]
    lines.append(row("dynaorm `for item in query`", lambda r: r["query"]["dynaorm"]))
    lines.append(
        row("dynaorm `for item in query.read_ahead()`", lambda r: r["query"]["read_ahead"])
    )
    lines.append(row("botocore paging loop", lambda r: r["query"]["botocore"]))
    lines += ["", f"Scan of the whole table ({sizes('scan')}):", "", head, rule]
    for segments in (1, 2, 4):
        lines.append(
            row(f"{segments} segment(s)", lambda r, s=segments: r["scan"][f"segments_{s}"])
        )
    lines += [
        "",
        "Seconds for all of the above: "
        + ", ".join(f"{servers[n]['seconds']:.0f} on {n}" for n in names)
        + ".",
    ]
    return lines


def write_markdown(
    path: Path,
    results: Mapping[str, Any],
    flat: Mapping[str, float],
    *,
    info: Mapping[str, str],
    method: str,
    notes: str,
) -> None:
    """Write ``docs/benchmarks.md`` from this run's results."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); every figure below is from the run that "
        "wrote this file. `bench/results.json` holds the ratios for tooling.",
        "",
        "## Machine and versions",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
        "## Method",
        "",
        method.strip(),
        "",
        "## Ratios (bench/results.json)",
        "",
        "| key | value | target |",
        "|---|---:|---|",
        *(f"| `{k}` | {v:g} | {_verdict(k, v)} |" for k, v in flat.items()),
        "",
        "## Client-side cost per operation",
        "",
        "Median CPU microseconds per operation, HTTP answered by canned responses.",
        "",
        f"dynaorm on the `{results.get('transport', 'default')}` transport "
        "(the keys without a transport prefix):",
        "",
        *_client_table(results["client"]),
        *_transport_tables(results),
        "",
        "## Serialization of one item",
        "",
        *_serial_table(results["serialization"]),
        "",
    ]
    stub = results.get("stub")
    if stub:
        lines += ["## Parallel batch writes, client-bound", "", *_stub_table(stub), ""]
    gets = results.get("async_gets")
    if gets:
        lines += async_gets.section(gets)
    if results["servers"]:
        lines += [
            "## Against servers",
            "",
            *_server_tables(results["servers"]),
            "",
        ]
    memory = results.get("memory")
    if memory:
        lines += [
            "## Memory",
            "",
            f"Iterating a {memory['items']:,}-item query ({memory['server']}) in a fresh "
            f"process: peak RSS {memory['peak_before_mb']:.1f} MB before, "
            f"{memory['peak_after_mb']:.1f} MB after, growth **{memory['growth_mb']:.1f} MB** "
            f"(target < 50 MB: {'met' if memory['growth_mb'] < 50 else 'not met'}).",
            "",
        ]
    startup = results.get("plugin_startup")
    if startup:
        lines += plugin_startup.section(startup)
    lines += ["## What the figures show", "", *explain(results), "", notes.strip(), ""]
    path.write_text("\n".join(lines))
