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
