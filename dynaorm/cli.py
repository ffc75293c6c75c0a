"""The ``dynaorm`` command line.

Commands::

    dynaorm local [--port N]                 run the embedded server, print its endpoint
    dynaorm create MODULE:TABLE [--ensure]   create the table (or create/check with --ensure)
    dynaorm delete MODULE:TABLE --yes        delete the table
    dynaorm schema MODULE:TABLE [--format terminal|markdown|html] [--output FILE]
    dynaorm explain MODULE:NAME              print the compiled request of a query
    dynaorm export MODULE:TABLE FILE [--segments N] [--consistent] [--wrap]
                                             every item, raw, to JSON lines, with progress
    dynaorm import MODULE:TABLE FILE [--workers N] [--stream]
                                             JSON lines back, exactly, in batches

``--endpoint`` and ``--region`` (before the command) override the configuration. Errors print
one line on standard error and exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dynaorm._bulk import export_items, import_items
from dynaorm._errors import ConfigurationError, DynaormError
from dynaorm._expressions import render
from dynaorm._layout import layout_columns, layout_rows, to_html, to_markdown
from dynaorm._loader import load_object
from dynaorm._settings import configure
from dynaorm._table import Table
from dynaorm.local import LocalDynamoDB

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
    if args.format == "terminal":
        from rich.table import Table as RichTable

        grid = RichTable(title=f"Table {table.name}")
        for heading in ("entity", table.type_attribute, *layout_columns(table)):
            grid.add_column(heading, overflow="fold")
        for row in layout_rows(table):
            grid.add_row(row.entity, row.type_name, *row.templates)
        _console().print(grid)
        return 0
    text = to_markdown(table) if args.format == "markdown" else to_html(table)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _explain(args: argparse.Namespace) -> int:
    target = load_object(args.query)
    if not hasattr(target, "compile") and callable(target):
        target = target()
    if not hasattr(target, "compile"):
        raise ConfigurationError(
            f"{args.query!r} is neither a query nor a function returning one (no .compile())"
        )
    request: dict[str, Any] = target.compile()
    print(json.dumps(request, indent=2, sort_keys=True, default=str))
    for member in ("KeyConditionExpression", "FilterExpression", "ProjectionExpression"):
        if member in request:
            print(f"# {member}: {render(request[member], request)}")
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
    with _progress() as bar, Path(args.file).open("w", encoding="utf-8") as out:
        task = bar.add_task(f"export {table.name}", total=None)
        count = export_items(
            table,
            out,
            segments=args.segments,
            consistent=args.consistent,
            wrap=args.wrap,
            on_item=lambda n: bar.update(task, completed=n),
        )
    print(f"exported {count} items from {table.name!r} to {args.file}")
    return 0


def _import(args: argparse.Namespace) -> int:
    table = _load_table(args.table)
    path = Path(args.file)
    with path.open(encoding="utf-8") as lines:
        total = sum(1 for line in lines if line.strip())
    with _progress() as bar, path.open(encoding="utf-8") as lines:
        task = bar.add_task(f"import {table.name}", total=total)
        count = import_items(
            table,
            lines,
            workers=args.workers,
            progress=lambda p: bar.update(task, completed=p.done),
            validate_first=not args.stream,
        )
    print(f"imported {count} items into {table.name!r} from {args.file}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynaorm", description="Single-table DynamoDB modeling: tables, schema, queries."
    )
    parser.add_argument("--endpoint", help="DynamoDB endpoint URL (default: configuration)")
    parser.add_argument("--region", help="AWS region (default: configuration)")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the embedded DynamoDB-compatible server")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=0, help="0 picks a free port")
    local.set_defaults(run=_local)

    create = commands.add_parser("create", help="create a table from its definition")
    create.add_argument("table", metavar="MODULE:TABLE")
    create.add_argument("--ensure", action="store_true", help="create if missing, else check")
    create.set_defaults(run=_create)

    delete = commands.add_parser("delete", help="delete a table")
    delete.add_argument("table", metavar="MODULE:TABLE")
    delete.add_argument("--yes", action="store_true", help="really delete it")
    delete.set_defaults(run=_delete)

    schema = commands.add_parser("schema", help="show the single-table layout")
    schema.add_argument("table", metavar="MODULE:TABLE")
    schema.add_argument("--format", choices=("terminal", "markdown", "html"), default="terminal")
    schema.add_argument("--output", help="write to this file instead of standard output")
    schema.set_defaults(run=_schema)

    explain = commands.add_parser("explain", help="print the compiled request of a query")
    explain.add_argument("query", metavar="MODULE:NAME", help="a query, or a function making one")
    explain.set_defaults(run=_explain)

    export = commands.add_parser(
        "export", help="copy every item, exactly as stored, to a JSON-lines file"
    )
    export.add_argument("table", metavar="MODULE:TABLE")
    export.add_argument("file", metavar="FILE")
    export.add_argument("--segments", type=int, default=4, help="parallel scan segments")
    export.add_argument(
        "--consistent", action="store_true", help="strongly consistent scan (2x read capacity)"
    )
    export.add_argument(
        "--wrap", action="store_true", help='write {"Item": {...}} lines, as DynamoDB exports do'
    )
    export.set_defaults(run=_export)

    load = commands.add_parser("import", help="write the items of a JSON-lines file in batches")
    load.add_argument("table", metavar="MODULE:TABLE")
    load.add_argument("file", metavar="FILE")
    load.add_argument("--workers", type=int, default=4, help="batch requests in flight")
    load.add_argument(
        "--stream",
        action="store_true",
        help="write while reading instead of checking the whole file first; a bad line "
        "stops the import after the lines before it (the error lists the lines written)",
    )
    load.set_defaults(run=_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.endpoint or args.region:
            configure(
                **{k: v for k, v in (("endpoint_url", args.endpoint), ("region", args.region)) if v}
            )
        status: int = args.run(args)
    except DynaormError as exc:
        print(f"dynaorm: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dynaorm: error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
