"""The command line: AWS's export format (gzip, directories), one-line errors on every bad
input, ``explain --arg``, ``--version``, help examples, options after the command, the HTML
schema page (rendered in headless Chromium) and the NoSQL Workbench model."""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import typed_json
from cli_models import Customer, Order, shop
from support import requests_sent
from test_cli import _recreate, _seed, _seed_everything, key_of, one_line_error, raw_scan, run

import dynaorm
from dynaorm import ExportLines, RetryPolicy, Table, export_files
from dynaorm.cli import main
from dynaorm.cli.parser import build_parser
from dynaorm.testing import FaultInjectorFactory, unique_table_name

Factory = Callable[[Table], Table]
REF = "cli_models:shop"
EXPORT_ID = "01733100000000-1a2b3c4d"


@pytest.fixture(autouse=True)
def _restored_settings() -> Iterator[None]:
    """``--endpoint``/``--region`` configure dynaorm globally: put the settings back."""
    settings = dynaorm.configure()
    yield
    dynaorm.configure(**attrs.asdict(settings))


# -- 3. export and import in AWS's formats --------------------------------------------------


def _as_dynamodb_writes_it(value: Any) -> Any:
    """A typed value as DynamoDB's export to S3 writes it: JSON, binary values base64."""
    ((kind, payload),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(payload).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(p).decode("ascii") for p in payload]}
    if kind == "M":
        return {"M": {k: _as_dynamodb_writes_it(v) for k, v in payload.items()}}
    if kind == "L":
        return {"L": [_as_dynamodb_writes_it(v) for v in payload]}
    return value


def _write_s3_export(root: Path, items: list[dict[str, Any]], files: int) -> Path:
    """An export laid out as DynamoDB's export to S3 writes one: manifests next to a ``data``
    folder of gzip-compressed JSON-lines files, one ``{"Item":{...}}`` per line (an empty
    file for an empty partition)."""
    export = root / "AWSDynamoDB" / EXPORT_ID
    data = export / "data"
    data.mkdir(parents=True)
    (export / "_started").write_bytes(b"")
    summary = {"version": "2020-06-30", "exportArn": "arn:x", "itemCount": len(items)}
    (export / "manifest-summary.json").write_text(json.dumps(summary))
    manifest = []
    for n in range(files + 1):  # the last one is an empty partition
        chunk = items[n::files] if n < files else []
        name = f"data/{n:04}abcdefgh.json.gz"
        with gzip.open(export / name, "wt", encoding="utf-8") as out:
            for item in chunk:
                line = {"Item": {k: _as_dynamodb_writes_it(v) for k, v in item.items()}}
                out.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n")
        manifest.append({"itemCount": len(chunk), "dataFileS3Key": name})
    (export / "manifest-files.json").write_text("\n".join(json.dumps(m) for m in manifest))
    return export


def test_an_aws_export_directory_imports_exactly(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    before = _seed_everything(table)
    export = _write_s3_export(tmp_path, before, files=3)
    assert len(export_files(export)) == 4  # the data files; manifests are not data
    _recreate(table)
    assert run(dynamodb_endpoint, "import", REF, str(export), "--workers", "3") == 0
    out = capsys.readouterr().out
    assert f"imported {len(before)} items" in out
    assert "items/s)" in out
    assert raw_scan(table) == before

    # One data file alone, too (gzip recognized by its magic bytes even without .gz).
    _recreate(table)
    renamed = tmp_path / "part-0"
    shutil.copy(export_files(export)[0], renamed)
    assert run(dynamodb_endpoint, "import", REF, str(renamed)) == 0
    assert raw_scan(table) == before[0::3]


def test_export_writes_aws_format_gzip_by_default_and_reads_back(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    before = _seed_everything(table)
    dump = tmp_path / "shop.json.gz"
    assert run(dynamodb_endpoint, "export", REF, str(dump), "--segments", "3") == 0
    captured = capsys.readouterr()
    assert f"exported {len(before)} items" in captured.out
    assert "DynamoDB JSON, gzip" in captured.out
    # The progress total is DescribeTable's ItemCount, labelled as the estimate it is (moto
    # counts at once; dynalite, like DynamoDB between its refreshes, may report 0: no total).
    estimate = table.describe().get("ItemCount", 0)
    if estimate:
        assert f"(of ~{estimate}: ItemCount estimate)" in captured.err
    else:
        assert "estimate" not in captured.err

    raw = dump.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    # A plain JSON-lines reader expecting AWS's shape reads it.
    with gzip.open(dump, "rt", encoding="utf-8") as lines:
        read = [json.loads(line)["Item"] for line in lines]
    assert len(read) == len(before)
    assert all(line.startswith('{"Item":{') for line in gzip.decompress(raw).decode().splitlines())
    decoded = [typed_json.decode(json.dumps(item)) for item in read]
    assert sorted(decoded, key=key_of) == before

    _recreate(table)
    assert run(dynamodb_endpoint, "import", REF, str(dump)) == 0
    assert raw_scan(table) == before


def test_uncompressed_and_bare_exports_still_round_trip(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    before = _seed_everything(table)
    plain, bare, squeezed = tmp_path / "a.json", tmp_path / "b.jsonl", tmp_path / "c.data"
    assert run(dynamodb_endpoint, "export", REF, str(plain)) == 0
    assert run(dynamodb_endpoint, "export", REF, str(bare), "--format", "bare") == 0
    assert run(dynamodb_endpoint, "export", REF, str(squeezed), "--gzip", "--format", "bare") == 0
    capsys.readouterr()
    assert all(set(json.loads(line)) == {"Item"} for line in plain.read_text().splitlines())
    assert all("Item" not in json.loads(line) for line in bare.read_text().splitlines())
    assert squeezed.read_bytes()[:2] == b"\x1f\x8b"
    for dump in (plain, bare, squeezed):
        _recreate(table)
        assert run(dynamodb_endpoint, "import", REF, str(dump), "--workers", "2") == 0
        assert raw_scan(table) == before


def test_a_bad_line_in_a_directory_names_its_file_and_writes_nothing(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    items = [{"PK": {"S": f"P#{n}"}, "SK": {"S": "S"}} for n in range(4)]
    export = _write_s3_export(tmp_path, items, files=2)
    second = export_files(export)[1]
    with gzip.open(second, "at", encoding="utf-8") as out:
        out.write('{"Item":{"PK":{"S":"P#x"},"SK":{"S":"S"},"total":{"N":"abc"}}}\n')
    with requests_sent(table) as sent:
        assert run(dynamodb_endpoint, "import", REF, str(export)) == 1
    error = one_line_error(capsys)
    assert "line 5: " in error
    assert f"is line 3 of {second}" in error
    assert sent == []
    assert raw_scan(table) == []
    assert ExportLines(export_files(export)).counts() == [2, 3, 0]


# -- 2. no traceback from the command line, on any input ------------------------------------


def test_explain_passes_arguments_to_the_function(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("explain", "cli_models:orders_over", "--arg", "customer_id=c7", "--arg", "minimum=5")
    assert run(dynamodb_endpoint, *args) == 0
    out = capsys.readouterr().out
    request = json.loads(out[: out.index("\n# ")])
    assert request["ExpressionAttributeValues"][":v0"] == {"S": "CUSTOMER#c7"}
    assert "total > 5" in out
    assert (
        run(dynamodb_endpoint, "explain", "cli_models:orders_over", "--arg", "customer_id=c1") == 0
    )
    assert "total > 100" in capsys.readouterr().out  # the default


def test_explain_of_a_table_prints_its_declared_access_patterns(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(dynamodb_endpoint, "explain", REF) == 0
    out = capsys.readouterr().out
    assert "## Order: orders of a customer" in out
    assert "## Order: big orders of a customer" in out
    assert "total > 100" in out


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("explain", "cli_models:orders_over"), ["takes customer_id, minimum (default 100)"]),
        (("explain", "cli_models:orders_over", "--arg", "nope=1"), ["--arg NAME=VALUE"]),
        (("explain", "cli_models:orders_over", "--arg", "customer_id"), ["expects NAME=VALUE"]),
        (("explain", "cli_models:big_orders", "--arg", "x=1"), ["takes no arguments"]),
        (("explain", "cli_models:broken_query"), ["RuntimeError", "prices is down"]),
        (("explain", REF, "--arg", "x=1"), ["is a table"]),
        (("export", REF, "/nonexistent-dir/x.json", "--segments", "0"), ["--segments"]),
        (("import", REF, "no-such-export.json.gz"), ["no such file"]),
        (("import", REF, "."), ["holds no export data file"]),
        (("schema", REF, "--samples", "-1"), ["--samples"]),
    ],
)
def test_bad_arguments_give_one_line(
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    fragments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # "." holds no export
    assert run(dynamodb_endpoint, *args) == 1
    error = one_line_error(capsys)
    for fragment in fragments:
        assert fragment in error


@pytest.mark.parametrize(
    "line",
    [
        '{"Item":{"PK":{"S":"A"},"SK":{"S":"B"},"total":{"N":"abc"}}}',
        '{"Item":{"PK":{"S":"A"},"SK":{"S":"B"},"total":{"N":5}}}',
        '{"Item":{"PK":{"S":"A"},"SK":{"S":"B"},"avatar":{"B":"not base64!"}}}',
        '{"Item":{"PK":{"S":"A"},"SK":{"N":"1"}}}',
        '{"Item":{"PK":{"S":"A"},"SK":{"S":"B"},"tags":{"SS":"x"}}}',
    ],
)
def test_an_import_line_with_a_wrong_attribute_type_is_one_line(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    line: str,
) -> None:
    table = table_factory(shop)
    dump = tmp_path / "bad.json"
    dump.write_text(line + "\n", encoding="utf-8")
    with requests_sent(table) as sent:
        assert run(dynamodb_endpoint, "import", REF, str(dump)) == 1
    assert "line 1: " in one_line_error(capsys)
    assert sent == []


def test_a_corrupt_gzip_file_is_one_line(
    table_factory: Factory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    table = table_factory(shop)
    good = gzip.compress(b'{"Item":{"PK":{"S":"A"},"SK":{"S":"B"}}}\n' * 50)
    for name, data in (("cut.json.gz", good[:-12]), ("junk.json.gz", b"\x1f\x8bjunk")):
        (tmp_path / name).write_bytes(data)
        assert run(dynamodb_endpoint, "import", REF, str(tmp_path / name)) == 1
        one_line_error(capsys)
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    assert run(dynamodb_endpoint, "import", REF, str(tmp_path / "binary.json")) == 1
    one_line_error(capsys)
    assert raw_scan(table) == []


def test_a_missing_table_is_one_line_for_every_command(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dump = tmp_path / "one.json"
    dump.write_text('{"Item":{"PK":{"S":"A"},"SK":{"S":"B"}}}\n', encoding="utf-8")
    with shop.override(name=unique_table_name("test-cli-nowhere")):
        for args in (
            ("export", REF, str(tmp_path / "x.json.gz")),
            ("import", REF, str(dump)),
            ("delete", REF, "--yes"),
            ("schema", REF, "--format", "html", "--samples", "2"),
        ):
            assert run(dynamodb_endpoint, *args) == 1, args
            error = one_line_error(capsys)
            assert "ResourceNotFound" in error or "not found" in error.lower() or "exist" in error
    assert not (tmp_path / "x.json.gz").exists()  # nothing half-written


def test_the_installed_command_never_prints_a_traceback(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    (tmp_path / "broken_models.py").write_text("raise RuntimeError('config missing')\n")
    (tmp_path / "syntax_models.py").write_text("def broken(:\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    for args in (
        ["schema", "broken_models:shop"],
        ["schema", "syntax_models:shop"],
        ["explain", "cli_models:orders_over"],
        ["import", REF, "missing.json.gz"],
        ["explain", "cli_models:broken_query", "--endpoint", dynamodb_endpoint],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "dynaorm.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("dynaorm: error: "), done.stderr


# -- 9. --version, help examples, options after the command ----------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"dynaorm {dynaorm.__version__}"


def test_every_argument_has_an_example_in_its_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for name, command in [("dynaorm", parser), *subparsers.choices.items()]:
        assert "example" in (command.epilog or ""), name
        for action in command._actions:
            if action.help in (None, argparse.SUPPRESS) or "-h" in action.option_strings:
                continue
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert "e.g. " in action.help, (name, action.dest)
            checked += 1
    assert checked >= 25


def test_endpoint_and_region_work_after_the_command(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with shop.override(name=unique_table_name("test-cli-after")):
        try:
            args = ["create", "--endpoint", dynamodb_endpoint, REF, "--region", "eu-west-1"]
            assert main(args) == 0
            assert shop.exists()
            assert main(["--endpoint", dynamodb_endpoint, "create", REF, "--ensure"]) == 0
            assert "already exists" in capsys.readouterr().out
        finally:
            shop.delete(missing_ok=True, wait=False)


# -- 8. the schema page and the NoSQL Workbench model ----------------------------------------


def test_the_html_schema_is_a_complete_standalone_page(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    page = tmp_path / "shop.html"
    assert run(dynamodb_endpoint, "schema", REF, "--format", "html", "--output", str(page)) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert "<style>" in text
    for external in ("<link", "<script", "src=", "@import", "url("):
        assert external not in text
    for fragment in (
        'id="entity-Customer"',
        'id="entity-Order"',
        "<code>placed_at</code>",
        "<code>datetime</code>",
        "S (string)",
        "BS (binary set)",
        "<code>set[bytes]</code>",
        "GSI1PK</code> = <code>EMAIL#{email}",
        "global secondary index",
        "all attributes (table)",
        "CUSTOMER#&lt;customer_id&gt;",  # a sample item, from the templates
        "orders of a customer",  # a declared access pattern
        "begins_with(SK, &#x27;ORDER#&#x27;)",
    ):
        assert fragment in text, fragment
    assert len(text) > 10_000


def test_schema_samples_come_from_the_table(
    table_factory: Factory, dynamodb_endpoint: str, tmp_path: Path
) -> None:
    table_factory(shop)
    _seed()
    page, model = tmp_path / "shop.html", tmp_path / "shop.json"
    args = ("schema", REF, "--samples", "2", "--output")
    assert run(dynamodb_endpoint, *args, str(page), "--format", "html") == 0
    assert run(dynamodb_endpoint, *args, str(model), "--format", "workbench") == 0
    text = page.read_text(encoding="utf-8")
    assert "read from the table" in text
    assert "c0@x.io" in text
    facets = json.loads(model.read_text())["DataModel"][0]["TableFacets"]
    assert [len(f["TableData"]) for f in facets] == [2, 2]


def test_the_workbench_model_has_a_facet_per_entity(
    dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(dynamodb_endpoint, "schema", REF, "--format", "workbench") == 0
    model = json.loads(capsys.readouterr().out)
    assert model["ModelName"] == shop.name
    assert model["ModelMetadata"]["AWSService"] == "Amazon DynamoDB"
    (data,) = model["DataModel"]
    assert data["TableName"] == shop.name
    assert data["KeyAttributes"] == {
        "PartitionKey": {"AttributeName": "PK", "AttributeType": "S"},
        "SortKey": {"AttributeName": "SK", "AttributeType": "S"},
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in data["NonKeyAttributes"]}
    assert types["total"] == "N"
    assert types["stamps"] == "BS"
    assert types["GSI1PK"] == "S"
    assert "PK" not in types
    (gsi,) = data["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "GSI1"
    assert gsi["KeyAttributes"]["PartitionKey"]["AttributeName"] == "GSI1PK"
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    facets = {f["FacetName"]: f for f in data["TableFacets"]}
    assert set(facets) == {"Customer", "Order"}
    assert facets["Customer"]["KeyAttributeAlias"] == {
        "PartitionKeyAlias": "CUSTOMER#<customer_id>",
        "SortKeyAlias": "PROFILE",
    }
    assert "GSI1PK" in facets["Customer"]["NonKeyAttributes"]
    assert "total" in facets["Order"]["NonKeyAttributes"]
    (sample,) = facets["Order"]["TableData"]
    assert sample["PK"] == {"S": "CUSTOMER#<customer_id>"}
    assert sample["_type"] == {"S": "Order"}
    assert len(data["TableData"]) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_html_schema_renders_in_headless_chromium(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    page = tmp_path / "shop.html"
    assert run(dynamodb_endpoint, "schema", REF, "--format", "html", "--output", str(page)) == 0
    shot = tmp_path / "shop.png"
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
        capture_output=True,
        timeout=180,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page with content, not a blank one
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    for name in (Customer.__name__, Order.__name__, "orders of a customer", "GSI1"):
        assert name in dom
    assert 'id="entity-Order"' in dom


def test_an_export_that_fails_part_way_leaves_no_file(
    table_factory: Factory,
    fault_injector: FaultInjectorFactory,
    dynamodb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = table_factory(shop)
    _seed()
    monkeypatch.setattr(table, "retry_policy", RetryPolicy(max_attempts=2, base_delay=0.001))
    fault_injector(table, server_error=1.0, operations={"Scan"})
    dump = tmp_path / "shop.json.gz"
    assert run(dynamodb_endpoint, "export", REF, str(dump), "--segments", "2") == 1
    assert "InternalServerError" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial one
