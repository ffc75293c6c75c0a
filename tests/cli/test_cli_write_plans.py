"""``dynaorm explain`` of a write: a write plan's compiled request, its expressions rendered."""

from __future__ import annotations

import json

import pytest
from cli_models import mark_paid

from dynaorm.cli import main


def test_explain_prints_the_compiled_request_of_a_write_plan(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--endpoint", dynamodb_endpoint, "explain", "cli_models:mark_paid"]
    assert main([*args, "--arg", "order_id=o7"]) == 0
    out = capsys.readouterr().out
    request = json.loads(out[: out.index("\n# ")])
    assert request == json.loads(json.dumps(mark_paid("o7").compile()))
    assert request["Key"] == {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "ORDER#o7"}}
    assert request["ReturnValues"] == "ALL_NEW"
    assert "# UpdateExpression: SET total = 500" in out
    assert "# ConditionExpression: total < 500" in out
