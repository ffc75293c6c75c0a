"""The ``dynaorm`` command line against the test server: tables, schema, explain, bulk work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typed_json
from cli_models import Customer, Order, shop
from support import requests_sent

from dynaorm import ImportIncomplete, Table, ValidationError, export_items, import_items
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
    table = table_factory(shop)
    good = Customer(customer_id="c1", email="a@x.io", version=1).to_item()
    dump = tmp_path / "bad.jsonl"
    dump.write_text(typed_json.encode(good) + "\n\n" + '{"PK": "not typed"}\n', encoding="utf-8")
    with requests_sent(table) as sent:
        assert run(dynamodb_endpoint, "import", REF, str(dump)) == 1
    assert "line 3" in one_line_error(capsys)
    assert sent == []  # the whole file is checked before anything is written
    assert raw_scan(table) == []

    # A raw copy: unknown types and keys that disagree with the fields are written as they are.
    ghost = {"PK": {"S": "X"}, "SK": {"S": "Y"}, "_type": {"S": "Ghost"}}
    order = Order(customer_id="c1", order_id="o1", total=1).to_item()
    order["PK"] = {"S": "CUSTOMER#someone-else"}
    dump.write_text(typed_json.encode(ghost) + "\n" + typed_json.encode(order) + "\n")
    assert run(dynamodb_endpoint, "import", REF, str(dump)) == 0
    assert raw_scan(table) == sorted([ghost, order], key=key_of)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"PK": {"S": "A"}}, "no key attribute 'SK'"),
        ({"PK": {"S": ""}, "SK": {"S": "B"}}, "key attribute 'PK'"),
        ({"PK": {"N": "1"}, "SK": {"S": "B"}}, "key attribute 'PK'"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "GSI1PK": {"N": "1"}}, "key attribute 'GSI1PK'"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "s": {"SS": []}}, "sets cannot be empty"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "s": {"SS": ["x", "x"]}}, "member twice"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "n": {"N": "1" * 39}}, "39 significant digits"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "n": {"N": 5}}, "a N value is a string"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "x": {"BOOL": "yes"}}, "true or false"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "x": {"Q": "1"}}, "unknown type 'Q'"),
        ({"PK": {"S": "A"}, "SK": {"S": "B"}, "": {"S": "x"}}, "an attribute name is empty"),
        (
            {"PK": {"S": "A"}, "SK": {"S": "B"}, "big": {"S": "x" * 410_000}},
            "limited to 409,600 bytes",
        ),
    ],
)
def test_import_refuses_items_dynamodb_would_refuse(
    table_factory: Factory, item: dict[str, Any], fragment: str
) -> None:
    table = table_factory(shop)
    first = json.dumps({"PK": {"S": "OK"}, "SK": {"S": "1"}})
    lines = [first, json.dumps(item)]
    with requests_sent(table) as sent, pytest.raises(ValidationError, match=r"^line 2: ") as err:
        import_items(table, lines)
    assert fragment in str(err.value)
    assert sent == []


def test_import_refuses_a_key_twice(table_factory: Factory) -> None:
    table = table_factory(shop)
    line = json.dumps({"PK": {"S": "A"}, "SK": {"S": "B"}})
    with pytest.raises(ValidationError, match=r"^line 3: the item has the key of line 1"):
        import_items(table, [line, "", line])
    assert raw_scan(table) == []


# -- raw copies: export -> delete -> create -> import gives back the table byte for byte ----

FORTY = "1234567890123456789012345678901234567.8"  # 38 significant digits


def raw_scan(table: Table) -> list[dict[str, Any]]:
    """Every item as the wire returns it (botocore-parsed), strongly consistent, by key."""
    client = table.transport.client
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table.name, "ConsistentRead": True, "Limit": 7}
    while True:
        response = client.scan(**request)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return sorted(items, key=key_of)
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def key_of(item: dict[str, Any]) -> tuple[str, str]:
    return item["PK"]["S"], item["SK"]["S"]


def _seed_everything(table: Table) -> list[dict[str, Any]]:
    """Known entities, and items only another client could have written."""
    _seed()
    client = table.transport.client
    extra = Customer(customer_id="c9", email="c9@x.io").to_item()
    extra["loyalty"] = {"M": {"tier": {"S": "gold"}, "since": {"N": "2019"}}}  # not an attribute
    odd = [
        extra,
        {"PK": {"S": "RAW#1"}, "SK": {"S": "RAW"}, "note": {"S": "no type attribute"}},
        {
            "PK": {"S": "GHOST#1"},
            "SK": {"S": "G"},
            "_type": {"S": "Ghost"},
            "blob": {"B": bytes(range(256))},
            "flags": {"BS": [b"\x00", b"\xff\xfe"]},
            "names": {"SS": ["b", "a", "\u00e9t\u00e9"]},
            "scores": {"NS": [FORTY, "-1E-130", "9.9999999999999999999999999999999999999E+125"]},
            "deep": {
                "M": {
                    "list": {"L": [{"B": b"\x01\x02"}, {"NULL": True}, {"BOOL": False}]},
                    "empty": {"M": {}},
                    "text": {"S": ""},
                }
            },
            "precise": {"N": FORTY},
        },
        {  # an Order whose datetime another client wrote in its own format
            **Order(customer_id="c1", order_id="zulu", total=1).to_item(),
            "placed_at": {"S": "2024-05-01T09:30:00Z"},
        },
    ]
    for item in odd:
        client.put_item(TableName=table.name, Item=item)
    stored = raw_scan(table)
    assert len(stored) == 60 + 5 + len(odd)
    return stored


def _recreate(table: Table) -> None:
    table.delete()
    table.create()
    assert raw_scan(table) == []


def test_cli_export_delete_create_import_gives_back_every_item_byte_for_byte(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    before = _seed_everything(table)
    dump = tmp_path / "shop.jsonl"
    args = ("export", REF, str(dump), "--segments", "3", "--consistent")
    assert run(dynamodb_endpoint, *args) == 0
    assert f"exported {len(before)} items" in capsys.readouterr().out
    _recreate(table)
    assert run(dynamodb_endpoint, "import", REF, str(dump), "--workers", "3") == 0
    assert f"imported {len(before)} items" in capsys.readouterr().out
    assert raw_scan(table) == before
    # The file holds the items as stored: no defaults, no index keys nobody stored.
    lines = [typed_json.decode(line) for line in dump.read_text().splitlines()]
    assert sorted(lines, key=key_of) == before


def test_library_export_and_import_round_trip_wrapped_lines(
    table_factory: Factory, tmp_path: Path
) -> None:
    table = table_factory(shop)
    before = _seed_everything(table)
    dump = tmp_path / "shop.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        assert export_items(table, out, segments=2, wrap=True) == len(before)
    assert all(set(json.loads(line)) == {"Item"} for line in dump.read_text().splitlines())
    _recreate(table)
    with dump.open(encoding="utf-8") as lines:
        assert import_items(table, lines, workers=2) == len(before)
    assert raw_scan(table) == before


def test_files_of_the_typed_export_format_still_import(table_factory: Factory) -> None:
    table = table_factory(shop)
    # A line as earlier releases exported a Customer (through to_item()).
    line = (
        '{"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "PROFILE"}, "GSI1PK": {"S": "EMAIL#a@x.io"}, '
        '"GSI1SK": {"S": "CUSTOMER"}, "_type": {"S": "Customer"}, "customer_id": {"S": "c1"}, '
        '"email": {"S": "a@x.io"}, "avatar": {"B": "AAE="}, "version": {"N": "3"}}'
    )
    assert import_items(table, [line]) == 1
    customer = Customer.get(customer_id="c1")
    assert (customer.email, customer.avatar, customer.version) == ("a@x.io", b"\x00\x01", 3)
    assert raw_scan(table) == [typed_json.decode(line)]


def _with_bad_line(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    items = [{"PK": {"S": f"P#{n}"}, "SK": {"S": "S"}, "n": {"N": str(n)}} for n in range(6)]
    lines = [typed_json.encode(i) for i in items]
    lines.insert(3, '{"PK": {"S": "P#bad"}}')  # line 4: no sort key
    dump = tmp_path / "bad.jsonl"
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dump, items


def test_import_with_a_bad_line_writes_nothing_by_default(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    dump, _ = _with_bad_line(tmp_path)
    with requests_sent(table) as sent:
        assert run(dynamodb_endpoint, "import", REF, str(dump)) == 1
        error = one_line_error(capsys)
        with dump.open(encoding="utf-8") as lines, pytest.raises(ValidationError):
            import_items(table, lines)
        with pytest.raises(ValidationError, match=r"^line 4: the item has no key attribute"):
            import_items(table, iter(dump.read_text().splitlines()))  # held in memory
    assert "line 4: the item has no key attribute 'SK'" in error
    assert sent == []
    assert raw_scan(table) == []


def test_streamed_import_says_exactly_which_lines_were_written(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    dump, items = _with_bad_line(tmp_path)
    assert run(dynamodb_endpoint, "import", REF, str(dump), "--stream") == 1
    error = one_line_error(capsys)
    assert "stopped at line 4: line 4: the item has no key attribute 'SK'" in error
    assert "written: lines 1-3 (3 items), nothing else" in error
    assert raw_scan(table) == items[:3]

    _recreate(table)
    with dump.open(encoding="utf-8") as lines, pytest.raises(ImportIncomplete) as caught:
        import_items(table, lines, validate_first=False, workers=2)
    assert (caught.value.written, caught.value.line) == ((1, 2, 3), 4)
    assert isinstance(caught.value.__cause__, ValidationError)
    assert raw_scan(table) == items[:3]


def test_an_import_that_fails_while_writing_lists_the_lines_written(
    table_factory: Factory, tmp_path: Path
) -> None:
    table = table_factory(shop)
    lines = [typed_json.encode({"PK": {"S": f"P#{n}"}, "SK": {"S": "S"}}) for n in range(60)]
    missing = shop.override(name=unique_table_name("test-cli-gone"))
    stopped = pytest.raises(ImportIncomplete, match=r"while writing: .*written: no line")
    with missing, stopped as err:
        import_items(shop, lines)
    assert (err.value.written, err.value.line) == ((), None)
    assert raw_scan(table) == []
