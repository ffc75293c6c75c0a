"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dynaorm

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_quickstart_runs_as_pasted(capsys: pytest.CaptureFixture[str]) -> None:
    quickstart = python_blocks(README.read_text())[0]
    previous = dynaorm.configure()
    try:
        exec(compile(quickstart, "README.md:quickstart", "exec"), {"__name__": "readme"})
    finally:
        dynaorm.configure(endpoint_url=previous.endpoint_url, region=previous.region)
    out = capsys.readouterr().out
    assert "Customer(customer_id='c1'" in out
    assert "None" in out


def section_blocks(text: str, heading: str) -> list[str]:
    """The python blocks of one ``## heading`` section."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return python_blocks(text[start : end if end != -1 else len(text)])


@pytest.mark.parametrize("heading", ["Streams", "JSON and Pydantic"])
def test_section_samples_run_and_print_what_they_say(
    heading: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (block,) = section_blocks(README.read_text(), heading)
    exec(compile(block, f"README.md:{heading}", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    # Each print(...) is followed by a comment showing its output ("print(x)  # output", or
    # the output on the next comment line).
    shown = re.findall(r"print\(.*?\)(?:  # (.*)|.*\n\s*# (.*))", block)
    assert printed == [same or below for same, below in shown]


def test_the_async_quickstart_runs_and_prints_what_it_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (block,) = section_blocks(README.read_text(), "Async quickstart")
    previous = dynaorm.configure()
    try:
        exec(compile(block, "README.md:Async quickstart", "exec"), {"__name__": "readme"})
    finally:
        dynaorm.configure(endpoint_url=previous.endpoint_url, region=previous.region)
    printed = capsys.readouterr().out.splitlines()
    shown = re.findall(r"print\(.*\)\s+# (.*)", block)
    assert printed == shown
