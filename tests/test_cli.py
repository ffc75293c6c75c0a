"""The ``dynaorm`` command line against the test server: tables, schema, explain, bulk work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_models import Customer, Order, shop

from dynaorm import Table
from dynaorm._bulk import decode_line, encode_item
from dynaorm.cli import main
from dynaorm.testing import unique_table_name

Factory = Callable[[Table], Table]
REF = "cli_models:shop"


def run(endpoint: str, *args: str) -> int:
    return main(["--endpoint", endpoint, *args])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The error line, after any progress output; never a traceback."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("dynaorm: error: ")
    assert err.count("dynaorm: error:") == 1
    return last


def test_create_ensure_and_delete(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with shop.override(name=unique_table_name("test-cli-create")):
        try:
            assert run(dynamodb_endpoint, "create", REF) == 0
            assert shop.exists()
            assert run(dynamodb_endpoint, "create", REF, "--ensure") == 0
            assert "already exists and matches" in capsys.readouterr().out

            assert run(dynamodb_endpoint, "delete", REF) == 1
            assert "without --yes" in one_line_error(capsys)
            assert shop.exists()

            assert run(dynamodb_endpoint, "delete", REF, "--yes") == 0
            assert not shop.exists()
        finally:
            shop.delete(missing_ok=True, wait=False)


def test_schema_formats(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(dynamodb_endpoint, "schema", REF, "--format", "markdown") == 0
    markdown = capsys.readouterr().out
    assert "| Customer |" in markdown
    assert "| Order |" in markdown
    assert "CUSTOMER#{customer_id}" in markdown
    assert "EMAIL#{email}" in markdown
    assert "ORDER#{order_id}" in markdown
    assert "GSI1" in markdown

    target = tmp_path / "layout.html"
    assert run(dynamodb_endpoint, "schema", REF, "--format", "html", "--output", str(target)) == 0
    html = target.read_text(encoding="utf-8")
    assert "<table" in html
    assert "EMAIL#{email}" in html

    assert run(dynamodb_endpoint, "schema", REF) == 0
    terminal = capsys.readouterr().out
    assert "Customer" in terminal
    assert "PROFILE" in terminal


def test_explain_prints_the_compiled_request(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(dynamodb_endpoint, "explain", "cli_models:big_orders") == 0
    out = capsys.readouterr().out
    request = json.loads(out[: out.index("\n# ")])
    assert request["Limit"] == 10
    assert request["ExpressionAttributeValues"][":v0"] == {"S": "CUSTOMER#c1"}
    assert "# KeyConditionExpression: PK = 'CUSTOMER#c1' AND begins_with(SK, 'ORDER#')" in out
    assert "# FilterExpression:" in out
    assert "total > 100" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("schema", "no_such_module_here:shop"), "no_such_module_here"),
        (("schema", "cli_models:missing"), "missing"),
        (("schema", "cli_models:not_a_table"), "not a dynaorm Table"),
        (("schema", "cli_models"), "MODULE:NAME"),
        (("explain", "cli_models:not_a_table"), "compile"),
    ],
)
def test_errors_are_one_line_with_a_non_zero_exit(
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    fragment: str,
) -> None:
    assert run(dynamodb_endpoint, *args) == 1
    assert fragment in one_line_error(capsys)


def test_server_errors_are_one_line(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with shop.override(name=unique_table_name("test-cli-missing")):
        assert run(dynamodb_endpoint, "export", REF, str(tmp_path / "x.jsonl")) == 1
    assert "ResourceNotFound" in one_line_error(capsys)


def _seed() -> list[dict[str, object]]:
    with shop.batch_write() as batch:
        for n in range(60):
            batch.put(
                Order(
                    customer_id=f"c{n % 3}",
                    order_id=f"o{n:03}",
                    total=n / 4,
                    lines=[{"sku": "p1", "qty": n}, "gift"],
                    meta={"source": "web", "nested": {"deep": [1, 2]}},
                    stamps={bytes([n, 0, 255])},
                )
            )
    for n in range(5):
        Customer(customer_id=f"c{n}", email=f"c{n}@x.io", avatar=bytes(range(n + 1))).save()
    return _stored()


def _stored() -> list[dict[str, object]]:
    items = shop.call("Scan", {"TableName": shop.name}, idempotent=True)["Items"]
    return sorted(items, key=lambda item: (str(item["PK"]), str(item["SK"])))


def test_export_then_import_round_trips_every_item(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table_factory(shop)
    before = _seed()
    dump = tmp_path / "shop.jsonl"

    assert run(dynamodb_endpoint, "export", REF, str(dump), "--segments", "3") == 0
    captured = capsys.readouterr()
    assert f"exported {len(before)} items" in captured.out
    assert "export" in captured.err  # the progress bar
    assert len(dump.read_text(encoding="utf-8").splitlines()) == len(before)

    with shop.batch_write() as batch:
        for entity in shop.scan():
            batch.delete(entity, unconditional=True)  # type: ignore[arg-type]
    assert shop.scan().count() == 0

    assert run(dynamodb_endpoint, "import", REF, str(dump), "--workers", "2") == 0
    assert f"imported {len(before)} items" in capsys.readouterr().out
    assert _stored() == before
    assert Customer.get(customer_id="c3").version == 1  # kept as stored, not bumped


def test_import_names_the_bad_line_and_stops(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table_factory(shop)
    good = Customer(customer_id="c1", email="a@x.io", version=1).to_item()
    dump = tmp_path / "bad.jsonl"
    dump.write_text(encode_item(good) + "\n\n" + '{"PK": "not typed"}\n', encoding="utf-8")
    assert run(dynamodb_endpoint, "import", REF, str(dump)) == 1
    assert "line 3" in one_line_error(capsys)

    dump.write_text('{"PK": {"S": "X"}, "SK": {"S": "Y"}, "_type": {"S": "Ghost"}}\n')
    assert run(dynamodb_endpoint, "import", REF, str(dump)) == 1
    assert "Ghost" in one_line_error(capsys)

    order = Order(customer_id="c1", order_id="o1", total=1).to_item()
    order["PK"] = {"S": "CUSTOMER#someone-else"}  # keys that disagree with the fields
    dump.write_text(encode_item(order) + "\n")
    assert run(dynamodb_endpoint, "import", REF, str(dump)) == 1
    assert "line 1" in one_line_error(capsys)


@pytest.mark.parametrize(
    "line",
    ["[1, 2]", "not json", '{"a": {"S": "x", "N": "1"}}', '{"a": {"B": "***"}}', '{"a": {"B": 5}}'],
)
def test_decode_line_refuses_malformed_lines(line: str) -> None:
    from dynaorm import ValidationError

    with pytest.raises(ValidationError, match=r"^line 7: "):
        decode_line(line, 7)


def test_encode_and_decode_round_trip_nested_binary() -> None:
    item = {
        "PK": {"S": "P#1"},
        "blob": {"B": b"\x00\xff"},
        "set": {"BS": [b"a", b"b"]},
        "deep": {"M": {"list": {"L": [{"B": b"\x01"}, {"N": "1.5"}, {"NULL": True}]}}},
    }
    assert decode_line(encode_item(item), 1) == item
