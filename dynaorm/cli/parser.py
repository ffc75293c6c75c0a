"""The command line's options: one subcommand per command, ``--endpoint`` and ``--region``
accepted before and after it."""

from __future__ import annotations

import argparse

from dynaorm.cli.copies import run_export, run_import
from dynaorm.cli.explain import run_explain
from dynaorm.cli.tables import run_create, run_delete, run_local, run_schema

__all__ = ["build_parser"]


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


def build_parser() -> argparse.ArgumentParser:
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
    local.set_defaults(run=run_local)

    create = command(
        "create", "create a table from its definition", "dynaorm create myapp.models:shop --ensure"
    )
    create.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    create.add_argument(
        "--ensure",
        action="store_true",
        help="create if missing, else check it matches, e.g. create myapp.models:shop --ensure",
    )
    create.set_defaults(run=run_create)

    delete = command("delete", "delete a table", "dynaorm delete myapp.models:shop --yes")
    delete.add_argument("table", metavar="MODULE:TABLE", help=table_help)
    delete.add_argument(
        "--yes", action="store_true", help="really delete it, e.g. delete myapp.models:shop --yes"
    )
    delete.set_defaults(run=run_delete)

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
    schema.set_defaults(run=run_schema)

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
    explain.set_defaults(run=run_explain)

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
    export.set_defaults(run=run_export)

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
    load.set_defaults(run=run_import)
    return parser
