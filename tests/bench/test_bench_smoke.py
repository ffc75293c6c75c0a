"""The benchmark code runs (``make bench``): client-side parts and the report writers.

Only the pure parts run here, for a few iterations, so the bench cannot rot; nothing is
asserted about timings.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

bench_main = pytest.importorskip("bench.__main__")
from bench import (  # noqa: E402
    async_gets,
    http_floor,
    latency,
    overhead,
    plugin_startup,
    report,
    stub,
    throughput,
)
from bench.events import Event, event_item  # noqa: E402
from bench.models import make_order  # noqa: E402
from bench.timing import Timing, interleaved  # noqa: E402


def test_interleaved_times_every_variant() -> None:
    calls = {"a": 0, "b": 0}

    def bump(name: str) -> None:
        calls[name] += 1

    timing = interleaved(
        {"a": lambda: bump("a"), "b": lambda: bump("b")}, ops=3, rounds=2, warmup=1
    )
    assert calls == {"a": 7, "b": 7}
    assert len(timing.rounds["a"]) == 2
    assert timing.ratio("a", "a") == 1.0


def test_serialization_runs() -> None:
    results = overhead.measure_serialization(ops=2, rounds=1)
    assert set(results) == {"serialize", "deserialize"}


def test_event_items_match_the_entity() -> None:
    entity = Event(stream="s1", seq=7, kind="click", payload="x" * 100)
    assert event_item("s1", 7) == entity.to_item()


def _fake_results() -> dict[str, object]:
    timing = Timing(
        {
            "dynaorm": (1.0, 1.1),
            "botocore": (1.0, 1.0),
            "botocore_novalidate": (0.8, 0.8),
            "pynamodb": (1.0, 1.0),
        }
    )
    server = {
        "sizes": attrs.asdict(throughput.QUICK),
        "seconds": 1.0,
        "batch": {
            "put_loop": 100.0,
            "batch_write_1": 800.0,
            "batch_write_4": 1300.0,
            "pynamodb": 600.0,
            "boto3": 900.0,
        },
        "query": {"dynaorm": 1000.0, "read_ahead": 1005.0, "botocore": 1010.0},
        "scan": {"segments_1": 1000.0, "segments_2": 1500.0, "segments_4": 1800.0},
    }
    return {
        "client": dict.fromkeys(("put", "get", "update", "query_page", "batch_write"), timing),
        "serialization": {"serialize": timing, "deserialize": timing},
        "parts": Timing(
            dict.fromkeys(
                ("key", "encode", "decode", "update_plan", "pynamodb_serializer"), (1e-6, 2e-6)
            )
        ),
        "servers": {"embedded": server, "dynalite": server},
        "memory": {
            "items": 1000,
            "peak_before_mb": 40.0,
            "peak_after_mb": 44.0,
            "growth_mb": 4.0,
            "server": "dynalite",
        },
        "plugin_startup": {"with_plugin_s": 0.9, "without_plugin_s": 0.85, "runs": 3},
        "transport": "lean",
        "client_transports": {
            "botocore": dict.fromkeys(("put", "get", "update", "query_page", "batch_write"), timing)
        },
        "stub": {
            "items": 200,
            "delay_ms": 5.0,
            "boto3": 100.0,
            "dynaorm": {"lean": 350.0, "botocore": 200.0},
        },
        "async_gets": {
            server: {
                "server": server,
                "delay_ms": 5.0,
                "gets": 1000,
                "tasks": 100,
                "threads": 16,
                "async_items_per_s": 3000.0,
                "threads_items_per_s": 1500.0,
                "async_cpu_us": 200.0,
                "threads_cpu_us": 400.0,
                "http_floor": {
                    "httpx_cpu_us": 150.0,
                    "httpx_per_s": 5000.0,
                    "streams_cpu_us": 50.0,
                    "streams_per_s": 9000.0,
                },
            }
            for server in ("stub", "embedded")
        },
    }


def test_writers(tmp_path: Path) -> None:
    results = _fake_results()
    flat = report.ratios(results)
    assert flat["batch_write_vs_put_loop"] == 13.0
    assert flat["dynalite_scan_4_vs_1"] == 1.8
    assert flat["iter_100k_rss_mb"] == 4.0
    assert flat["pytest_plugin_startup_s"] == 0.9
    assert flat["pytest_plugin_startup_without_s"] == 0.85
    assert report.meets("put_vs_botocore", 1.04) is True
    assert report.meets("dynalite_batch_write_vs_pynamodb", 1.2) is False
    assert report.meets("scan_4_vs_1", 3.0) is None
    assert flat["put_vs_botocore_novalidate"] == 1.312
    assert report.meets("put_vs_botocore_novalidate", 0.5) is True
    assert flat["botocore_transport_get_vs_botocore_novalidate"] == 1.312
    assert report.meets("botocore_transport_get_vs_botocore_novalidate", 9.0) is None
    assert flat["batch_write_latency_vs_boto3"] == 3.5
    assert report.meets("batch_write_latency_vs_boto3", 3.5) is True
    assert flat["botocore_transport_batch_write_latency_vs_boto3"] == 2.0
    assert flat["async_gets_vs_threads"] == 2.0
    assert flat["async_gets_cpu_vs_threads"] == 0.5
    assert flat["embedded_async_gets_vs_threads"] == 2.0
    assert flat["threads_gets_cpu_us"] == 400.0
    assert flat["async_http_httpx_cpu_us"] == 150.0
    assert report.meets("async_gets_vs_threads", 2.0) is None
    json_path, md_path = tmp_path / "results.json", tmp_path / "benchmarks.md"
    report.write_json(json_path, flat)
    assert json.loads(json_path.read_text()) == flat
    report.write_markdown(
        md_path, results, flat, info=report.machine(), method="method", notes="notes"
    )
    text = md_path.read_text()
    assert "| `put_vs_botocore` | 1.05 |" in text
    assert "met" in text
    assert "## pytest plugin start-up" in text
    assert "## Parallel batch writes, client-bound" in text
    assert "`lean` transport" in text
    assert "dynaorm on the `botocore` transport" in text
    assert async_gets.SECTION in text
    assert "| 100 asyncio tasks, `await Order.aget(...)` | 3,000 | 200 |" in text
    assert "| `put_vs_botocore_novalidate` | 1.312 | <= 0.5: **not met** |" in text
    assert str(Path.cwd()) not in text


def test_quick_main_without_servers(tmp_path: Path) -> None:
    json_path, md_path = tmp_path / "r.json", tmp_path / "b.md"
    argv = ["--quick", "--no-servers", "--ops", "2", "--json", str(json_path)]
    argv += ["--markdown", str(md_path)]
    assert bench_main.main(argv) == 0
    flat = json.loads(json_path.read_text())
    for op in ("put", "get", "update", "query_page", "batch_write"):
        assert f"{op}_vs_botocore" in flat
        assert f"{op}_vs_botocore_novalidate" in flat
    assert "batch_write_latency_vs_boto3" in flat
    assert flat["async_gets_vs_threads"] > 0
    assert md_path.read_text().startswith("# Benchmarks")


def test_every_transport_is_measured() -> None:
    transports = overhead.transports()
    assert transports[0] in (None, "lean")
    for transport in transports:
        results = overhead.measure(ops=1, rounds=1, transport=transport)
        assert set(results) == {"put", "get", "update", "query_page", "batch_write"}
        assert "botocore_novalidate" in results["put"].rounds


def test_stub_answers_concurrently_with_a_checksum() -> None:
    import json as json_module
    import time
    import urllib.request
    import zlib
    from concurrent.futures import ThreadPoolExecutor

    def post(endpoint: str, target: str) -> tuple[dict[str, object], str]:
        request = urllib.request.Request(
            endpoint,
            data=b'{"TableName": "t"}',
            headers={"X-Amz-Target": f"DynamoDB_20120810.{target}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            assert response.headers["x-amz-crc32"] == str(zlib.crc32(body) & 0xFFFFFFFF)
            return json_module.loads(body), target

    with stub.running(delay_ms=200) as endpoint:
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda t: post(endpoint, t), ["BatchWriteItem"] * 4))
        # Four requests of 200 ms each, answered side by side (not one after another).
        assert time.perf_counter() - started < 0.75
        assert all(body == {"UnprocessedItems": {}} for body, _ in answers)
        described, _ = post(endpoint, "DescribeTable")
        assert described["Table"]["TableStatus"] == "ACTIVE"
        assert post(endpoint, "PutItem")[0] == {}


def test_stub_batch_write_measures_both_clients() -> None:
    measured = latency.measure(60, transports=overhead.transports())
    assert measured["items"] == 60
    assert measured["boto3"] > 0
    assert all(rate > 0 for rate in measured["dynaorm"].values())


def test_plugin_startup_measures_and_updates_in_place(tmp_path: Path) -> None:
    measured = plugin_startup.measure(runs=1)
    assert measured["with_plugin_s"] > 0
    assert measured["without_plugin_s"] > 0
    json_path, md_path = tmp_path / "results.json", tmp_path / "benchmarks.md"
    json_path.write_text(json.dumps({"put_vs_botocore": 1.0}))
    md_path.write_text("# Benchmarks\n\n## Memory\n\nx\n\n## What the figures show\n\ny\n")
    for _ in range(2):  # a second update replaces the section instead of adding another
        plugin_startup.update(json_path, md_path, measured)
    flat = json.loads(json_path.read_text())
    assert flat["put_vs_botocore"] == 1.0
    assert set(plugin_startup.KEYS) <= set(flat)
    text = md_path.read_text()
    assert text.count(plugin_startup.SECTION) == 1
    assert text.index("## Memory") < text.index(plugin_startup.SECTION)
    assert text.index(plugin_startup.SECTION) < text.index("## What the figures show")


def test_async_gets_against_the_stub_read_the_stored_item() -> None:
    item = make_order(async_gets.FIRST).to_item()
    with stub.running(delay_ms=1, get_item=item) as endpoint:
        measured = async_gets.measure(endpoint, gets=40, tasks=10, threads=4)
    assert measured["gets"] == 40  # every get found its item, both ways (checked inside)
    for way in ("async", "threads"):
        assert measured[f"{way}_items_per_s"] > 0
        assert measured[f"{way}_cpu_us"] > 0
    assert set(async_gets.flat({"stub": measured})) == set(async_gets.KEYS)


def test_the_http_floor_measures_both_clients() -> None:
    with stub.running(delay_ms=1) as endpoint:
        floor = http_floor.measure(endpoint, requests=40, tasks=10)
    assert set(floor) == {"httpx_cpu_us", "httpx_per_s", "streams_cpu_us", "streams_per_s"}
    assert all(value > 0 for value in floor.values())
