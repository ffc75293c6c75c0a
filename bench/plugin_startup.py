"""What the pytest plugin costs a run that uses none of its fixtures.

pytest loads dynaorm's plugin (the ``pytest11`` entry point) in every run of an environment
where dynaorm is installed. This times ``python -m pytest`` on one empty test in a fresh
process, with the plugin and with ``-p no:dynaorm``, alternating, and takes the medians.

``python -m bench.plugin_startup`` measures only this and updates its figures in
``bench/results.json`` and its section of ``docs/benchmarks.md`` in place.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dynaorm

ROOT = Path(dynaorm.__file__).resolve().parent.parent
SECTION = "## pytest plugin start-up"
KEYS = ("pytest_plugin_startup_s", "pytest_plugin_startup_without_s")


def _time_run(directory: Path, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    started = time.perf_counter()
    subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(runs: int = 7) -> dict[str, Any]:
    """Median wall-clock seconds of a pytest run of one empty test, with and without the
    plugin (``runs`` runs each, alternating, after one warm-up run of each)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text("[pytest]\n")
        (directory / "test_empty.py").write_text("def test_empty():\n    pass\n")
        timings: dict[str, list[float]] = {"with": [], "without": []}
        for round_number in range(runs + 1):
            order = [("with", ()), ("without", ("-p", "no:dynaorm"))]
            if round_number % 2:
                order.reverse()
            for name, args in order:
                seconds = _time_run(directory, *args)
                if round_number:  # the first round warms the file system caches
                    timings[name].append(seconds)
    with_plugin = statistics.median(timings["with"])
    without = statistics.median(timings["without"])
    return {"with_plugin_s": with_plugin, "without_plugin_s": without, "runs": runs}


def flat(measured: Any) -> dict[str, float]:
    """The figures for ``bench/results.json``."""
    return {
        "pytest_plugin_startup_s": measured["with_plugin_s"],
        "pytest_plugin_startup_without_s": measured["without_plugin_s"],
    }


def section(measured: Any) -> list[str]:
    """The Markdown section of ``docs/benchmarks.md``."""
    cost = measured["with_plugin_s"] - measured["without_plugin_s"]
    return [
        SECTION,
        "",
        "`python -m pytest` on one empty test in a fresh process (pytest's start-up included), "
        f"median of {measured['runs']} runs each, alternating:",
        "",
        "| run | seconds |",
        "|---|---:|",
        f"| with dynaorm's plugin (`pytest_plugin_startup_s`) | {measured['with_plugin_s']:.3f} |",
        "| with `-p no:dynaorm` (`pytest_plugin_startup_without_s`) | "
        f"{measured['without_plugin_s']:.3f} |",
        f"| difference | {cost:+.3f} |",
        "",
        "Until a test asks for one of its fixtures the plugin imports neither dynaorm's "
        "internals nor botocore, boto3, moto or werkzeug and starts no server "
        "(`tests/testing/test_plugin_cost.py`); what it costs is loading `dynaorm/__init__.py` and "
        "`dynaorm/testing.py` (about 2 ms, `python -X importtime`), so a difference "
        "beyond that is the noise of a machine other processes share.",
        "",
    ]


def update(results_path: Path, markdown_path: Path, measured: Any) -> None:
    """Put this measurement into an existing results file and report."""
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.update({k: round(v, 3) for k, v in flat(measured).items()})
    results_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    text = markdown_path.read_text() if markdown_path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    new = section(measured)
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = new
    else:
        at = next((i for i, line in enumerate(lines) if line == "## What the figures show"), None)
        lines[at if at is not None else len(lines) : at] = new
    markdown_path.write_text("\n".join(lines).rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plugin_startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--markdown", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    measured = measure(args.runs)
    update(args.json, args.markdown, measured)
    for key, value in flat(measured).items():
        print(f"{key:34s} {value:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
