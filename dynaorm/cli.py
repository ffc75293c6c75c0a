"""The ``dynaorm`` command line.

Commands::

    dynaorm local [--port N]                 run the embedded server, print its endpoint
    dynaorm create MODULE:TABLE [--ensure]   create the table (or create/check with --ensure)
    dynaorm delete MODULE:TABLE --yes        delete the table
    dynaorm schema MODULE:TABLE [--format terminal|markdown|html|workbench] [--samples N]
                   [--output FILE]
    dynaorm explain MODULE:NAME [--arg NAME=VALUE ...]
                                             print the compiled request of a query or write
    dynaorm export MODULE:TABLE FILE [--format aws|bare] [--gzip] [--segments N] [--consistent]
                                             every item, raw, in DynamoDB's export format
    dynaorm import MODULE:TABLE FILE|DIR [--workers N] [--stream]
                                             those lines back (gzip or not), exactly, in batches
    dynaorm --version

``--endpoint`` and ``--region`` (before or after the command) override the configuration.
Errors print one line on standard error and exit with status 1; no input ends in a traceback.
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dynaorm.base.errors import ConfigurationError, DynaormError, ImportIncomplete, ValidationError
from dynaorm.base.settings import configure
from dynaorm.bulk.files import ExportLines, export_files, export_items, import_items
from dynaorm.expressions.compile import render
from dynaorm.local import LocalDynamoDB
from dynaorm.model.table import Table
from dynaorm.tools.layout import (
    layout_columns,
    layout_rows,
    table_samples,
    to_html,
    to_markdown,
    to_workbench,
)
from dynaorm.tools.loader import load_object

__all__ = ["main"]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


def _load_table(reference: str) -> Table:
    table = load_object(reference)
    if not isinstance(table, Table):
        raise ConfigurationError(f"{reference!r} is a {type(table).__name__}, not a dynaorm Table")
    return table


def _local(args: argparse.Namespace) -> int:
    with LocalDynamoDB(host=args.host, port=args.port) as server:
        print(server.endpoint_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _create(args: argparse.Namespace) -> int:
    table = _load_table(args.table)
    if args.ensure:
        created = table.ensure()
        print(f"table {table.name!r} {'created' if created else 'already exists and matches'}")
    else:
        table.create()
        print(f"table {table.name!r} created")
    return 0


def _delete(args: argparse.Namespace) -> int:
    table = _load_table(args.table)
    if not args.yes:
        raise ConfigurationError(f"refusing to delete table {table.name!r} without --yes")
    table.delete()
    print(f"table {table.name!r} deleted")
    return 0


def _schema(args: argparse.Namespace) -> int:
    table = _load_table(args.table)
    if args.samples < 0:
        raise ConfigurationError(f"--samples is a count of items, not {args.samples}")
    if args.format == "terminal":
        from rich.table import Table as RichTable

        grid = RichTable(title=f"Table {table.name}")
        for heading in ("entity", table.type_attribute, *layout_columns(table)):
            grid.add_column(heading, overflow="fold")
        for row in layout_rows(table):
            grid.add_row(row.entity, row.type_name, *row.templates)
        _console().print(grid)
        return 0
    if args.format == "markdown":
        text = to_markdown(table)
    else:
        samples = table_samples(table, args.samples) if args.samples else None
        text = to_html(table, samples) if args.format == "html" else to_workbench(table, samples)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _argument(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` of ``--arg``: the value as JSON when it is JSON (``10``, ``true``,
    ``"10"``, ``[1, 2]``), else as the text itself."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise ConfigurationError(f"--arg expects NAME=VALUE (e.g. customer_id=c1), got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _call_factory(reference: str, factory: Any, arguments: dict[str, Any]) -> Any:
    """Call a query factory with the ``--arg`` values, or say which arguments it takes."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**arguments)
        except TypeError as exc:
            wanted = [
                f"{p.name}" + ("" if p.default is p.empty else f" (default {p.default!r})")
                for p in signature.parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            takes = ", ".join(wanted) if wanted else "no arguments"
            raise ConfigurationError(
                f"{reference!r} takes {takes}; pass them as --arg NAME=VALUE ({exc})"
            ) from None
    try:
        return factory(**arguments)
    except DynaormError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"{reference!r} raised {type(exc).__name__}: {exc}") from None


def _explain(args: argparse.Namespace) -> int:
    arguments = dict(_argument(text) for text in args.arg)
    target = load_object(args.query)
    if isinstance(target, Table):
        return _explain_patterns(args.query, target, arguments)
    if not hasattr(target, "compile") and callable(target):
        target = _call_factory(args.query, target, arguments)
    elif arguments:
        raise ConfigurationError(f"{args.query!r} is a query, not a function: it takes no --arg")
    if not hasattr(target, "compile"):
        raise ConfigurationError(
            f"{args.query!r} is neither a query or write plan nor a function returning one "
            "(no .compile())"
        )
    _print_request(target.compile())
    return 0


def _print_request(request: dict[str, Any]) -> None:
    print(json.dumps(request, indent=2, sort_keys=True, default=str))
    for member in (
        "KeyConditionExpression",
        "FilterExpression",
        "ProjectionExpression",
        "UpdateExpression",  # of a write plan
        "ConditionExpression",
    ):
        if member in request:
            print(f"# {member}: {render(request[member], request)}")


def _explain_patterns(reference: str, table: Table, arguments: dict[str, Any]) -> int:
    """Every access pattern declared on the table's entities, with its compiled request."""
    from dynaorm.tools.layout import access_patterns

    if arguments:
        raise ConfigurationError(f"{reference!r} is a table: --arg applies to a function")
    patterns = access_patterns(table)
    if not patterns:
        print(f"# table {table.name!r} declares no access patterns (see __access_patterns__)")
    for pattern in patterns:
        print(f"## {pattern.entity}: {pattern.name}")
        if pattern.description:
            print(f"# {pattern.description}")
        _print_request(pattern.request)
    return 0


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=False,
    )


def _export(args: argparse.Namespace) -> int:
    table = _load_table(args.table)
    if args.segments < 1:
        raise ConfigurationError(f"--segments is 1 or more, not {args.segments}")
    estimate = table.describe().get("ItemCount")  # TableNotFound before any file is made
    wrap = args.format == "aws" or args.wrap
    compress = args.gzip or args.file.endswith(".gz")
    target = Path(args.file)
    partial = target.with_name(f".{target.name}.partial")  # renamed to FILE once complete
    opened = (
        gzip.open(partial, "wt", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        if compress
        else partial.open("w", encoding="utf-8")
    )
    # DynamoDB refreshes ItemCount about every six hours: a guide for the bar, not a count.
    total = estimate if isinstance(estimate, int) and estimate > 0 else None
    label = f"export {table.name}"
    if total is not None:
        label += f" (of ~{total}: ItemCount estimate)"
    started = time.perf_counter()
    try:
        with _progress() as bar, opened as out:
            task = bar.add_task(label, total=total)
            count = export_items(
                table,
                out,
                segments=args.segments,
                consistent=args.consistent,
                wrap=wrap,
                on_item=lambda n: bar.update(task, completed=n),
            )
            bar.update(task, completed=count, total=max(count, total or 0))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    kind = "DynamoDB JSON" if wrap else "bare JSON lines"
    print(
        f"exported {count} items from {table.name!r} to {args.file} ({kind}"
        f"{', gzip' if compress else ''}) in {seconds:.2f} s"
    )
    return 0


_LINE = re.compile(r"^line (\d+): ")


def _where(lines: ExportLines, exc: DynaormError) -> DynaormError:
    """The error, naming the file and its own line when an import reads several files."""
    if len(lines.paths) < 2:
        return exc
    number = exc.line if isinstance(exc, ImportIncomplete) else None
    if number is None:
        match = _LINE.match(str(exc))
        number = int(match.group(1)) if match else None
    if number is None:
        return exc
    path, own = lines.locate(number)
    where = f"{exc} (line {number} of the files read in order is line {own} of {path})"
    return type(exc)(where) if isinstance(exc, ValidationError) else ConfigurationError(where)


def _import(args: argparse.Namespace) -> int:
    table = _load_table(args.table)
    if args.workers < 1:
        raise ConfigurationError(f"--workers is 1 or more, not {args.workers}")
    lines = ExportLines(export_files(args.file))
    total = sum(lines.counts())
    started = time.perf_counter()
    try:
        with _progress() as bar:
            task = bar.add_task(f"import {table.name}", total=total)
            count = import_items(
                table,
                lines,
                workers=args.workers,
                progress=lambda p: bar.update(task, completed=p.done),
                validate_first=not args.stream,
            )
    except DynaormError as exc:
        raise _where(lines, exc) from None
    seconds = time.perf_counter() - started
    rate = count / seconds if seconds > 0 else float(count)
    files = f"{len(lines.paths)} files under " if len(lines.paths) > 1 else ""
    print(
        f"imported {count} items into {table.name!r} from {files}{args.file} "
        f"in {seconds:.2f} s ({rate:,.0f} items/s)"
    )
    return 0


_HELP_EPILOG = """examples:
  dynaorm local --port 8000
  dynaorm --endpoint http://127.0.0.1:8000 create myapp.models:shop --ensure
  dynaorm create myapp.models:shop --endpoint http://127.0.0.1:8000 --region eu-west-1
  dynaorm schema myapp.models:shop --format html --output shop.html
  dynaorm explain myapp.queries:orders_over --arg customer_id=c1 --arg minimum=100
  dynaorm export myapp.models:shop shop.json.gz
  dynaorm import myapp.models:shop AWSDynamoDB/01700000000000-abcdef12/data
"""


def _common() -> argparse.ArgumentParser:
    """``--endpoint`` and ``--region``, accepted before and after the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="DynamoDB endpoint URL (default: configuration), e.g. http://127.0.0.1:8000",
    )
    common.add_argument(
        "--region",
        default=argparse.SUPPRESS,
        help="AWS region (default: configuration), e.g. eu-west-1",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    from dynaorm.base.version import __version__

    common = _common()
    parser = argparse.ArgumentParser(
        prog="dynaorm",
        description="Single-table DynamoDB modeling: tables, schema, queries, bulk copies.",
        epilog=_HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"dynaorm {__version__}",
        help="print the version and exit, e.g. dynaorm --version",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, example: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}.",
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )

    table_help = "the Table object as module:attribute, e.g. myapp.models:shop"

    local = command(
        "local", "run the embedded DynamoDB-compatible server", "dynaorm local --port 8000"
    )
    local.add_argument("--host", default="127.0.0.1", help="address to bind, e.g. 127.0.0.1")
    local.add_argument(
        "--port", type=int, default=0, help="port (0, the default, picks a free one), e.g. 8000"
    )
    local.set_defaults(run=_local)

    create = command(
        "create", "create a table from its definition", "dynaorm create myapp.models:shop --ensure"
    )
    create.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    create.add_argument(
        "--ensure",
        action="store_true",
        help="create if missing, else check it matches, e.g. create myapp.models:shop --ensure",
    )
    create.set_defaults(run=_create)

    delete = command("delete", "delete a table", "dynaorm delete myapp.models:shop --yes")
    delete.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    delete.add_argument(
        "--yes", action="store_true", help="really delete it, e.g. delete myapp.models:shop --yes"
    )
    delete.set_defaults(run=_delete)

    schema = command(
        "schema",
        "show the single-table layout: entities, keys, indexes, access patterns",
        "dynaorm schema myapp.models:shop --format html --samples 5 --output shop.html",
    )
    schema.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    schema.add_argument(
        "--format",
        choices=("terminal", "markdown", "html", "workbench"),
        default="terminal",
        help="terminal (default), markdown, html (a standalone page) or workbench (NoSQL "
        "Workbench data-model JSON), e.g. --format html",
    )
    schema.add_argument(
        "--samples",
        type=int,
        default=0,
        metavar="N",
        help="html/workbench: sample up to N items of each entity from the table (default 0: "
        "sample items made from the key templates), e.g. --samples 5",
    )
    schema.add_argument(
        "--output",
        metavar="FILE",
        help="write to this file instead of standard output, e.g. --output shop.html",
    )
    schema.set_defaults(run=_schema)

    explain = command(
        "explain",
        "print the compiled request of a query or a write plan",
        "dynaorm explain myapp.queries:orders_over --arg customer_id=c1 --arg minimum=100",
    )
    explain.add_argument(
        "query",
        metavar="MODULE:NAME",
        help="a query or write plan, a function returning one, or a Table (its declared "
        "access patterns), e.g. myapp.queries:big_orders",
    )
    explain.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an argument of the function (repeatable); VALUE is read as JSON when it is JSON "
        '(10, true, "10"), else as text, e.g. --arg customer_id=c1 --arg minimum=100',
    )
    explain.set_defaults(run=_explain)

    export = command(
        "export",
        "copy every item, exactly as stored, to a file in DynamoDB's export format",
        "dynaorm export myapp.models:shop shop.json.gz --segments 4",
    )
    export.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    export.add_argument(
        "file",
        metavar="FILE",
        help="the file to write; a name ending in .gz is gzip-compressed, e.g. shop.json.gz",
    )
    export.add_argument(
        "--format",
        choices=("aws", "bare"),
        default="aws",
        help='aws (default): {"Item":{...}} lines, the DynamoDB JSON of an export to S3 and '
        "of ImportTable; bare: the typed item alone on each line, e.g. --format bare",
    )
    export.add_argument(
        "--gzip", action="store_true", help="gzip-compress whatever the name, e.g. --gzip"
    )
    export.add_argument(
        "--segments", type=int, default=4, help="parallel scan segments, e.g. --segments 8"
    )
    export.add_argument(
        "--consistent",
        action="store_true",
        help="strongly consistent scan (twice the read capacity), e.g. --consistent",
    )
    export.add_argument("--wrap", action="store_true", help=argparse.SUPPRESS)  # = --format aws
    export.set_defaults(run=_export)

    load = command(
        "import",
        "write the items of an export (file or directory, gzip or not) in batches",
        "dynaorm import myapp.models:shop AWSDynamoDB/01700000000000-abcdef12/data",
    )
    load.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    load.add_argument(
        "file",
        metavar="FILE|DIR",
        help="an export file (DynamoDB JSON or bare lines, gzip detected by its first bytes), "
        "or a directory: every *.json.gz, *.jsonl and *.jsonl.gz under it, e.g. shop.json.gz",
    )
    load.add_argument(
        "--workers", type=int, default=4, help="batch requests in flight, e.g. --workers 8"
    )
    load.add_argument(
        "--stream",
        action="store_true",
        help="write while reading instead of checking the whole file first; a bad line "
        "stops the import after the lines before it (the error lists the lines written), "
        "e.g. --stream",
    )
    load.set_defaults(run=_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 1 after a one-line error on
    standard error).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        dynaorm 0.1.0
    """
    args = _parser().parse_args(argv)
    endpoint = getattr(args, "endpoint", None)
    region = getattr(args, "region", None)
    try:
        if endpoint or region:
            configure(**{k: v for k, v in (("endpoint_url", endpoint), ("region", region)) if v})
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("dynaorm: interrupted", file=sys.stderr)
        return 130
    except (DynaormError, OSError, EOFError, UnicodeDecodeError) as exc:
        print(f"dynaorm: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # the command line never ends in a traceback
        print(f"dynaorm: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    return status


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
