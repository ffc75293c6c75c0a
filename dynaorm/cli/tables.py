"""The table commands: ``dynaorm local``, ``create``, ``delete`` and ``schema``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dynaorm.base.errors import ConfigurationError
from dynaorm.cli.terminal import console
from dynaorm.local import LocalDynamoDB
from dynaorm.tools.layout import layout_columns, layout_rows, to_markdown
from dynaorm.tools.layout_html import to_html
from dynaorm.tools.loader import load_table
from dynaorm.tools.samples import table_samples
from dynaorm.tools.workbench import to_workbench

__all__ = ["run_create", "run_delete", "run_local", "run_schema"]


def run_local(args: argparse.Namespace) -> int:
    """``dynaorm local --port 8000``: run the embedded server until Ctrl-C."""
    with LocalDynamoDB(host=args.host, port=args.port) as server:
        print(server.endpoint_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def run_create(args: argparse.Namespace) -> int:
    """``dynaorm create myapp.models:shop [--ensure]``: create the table (or check it)."""
    table = load_table(args.table)
    if args.ensure:
        created = table.ensure()
        print(f"table {table.name!r} {'created' if created else 'already exists and matches'}")
    else:
        table.create()
        print(f"table {table.name!r} created")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """``dynaorm delete myapp.models:shop --yes``: delete the table."""
    table = load_table(args.table)
    if not args.yes:
        raise ConfigurationError(f"refusing to delete table {table.name!r} without --yes")
    table.delete()
    print(f"table {table.name!r} deleted")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    """``dynaorm schema myapp.models:shop --format html``: show or write the layout."""
    table = load_table(args.table)
    if args.samples < 0:
        raise ConfigurationError(f"--samples is a count of items, not {args.samples}")
    if args.format == "terminal":
        from rich.table import Table as RichTable

        grid = RichTable(title=f"Table {table.name}")
        for heading in ("entity", table.type_attribute, *layout_columns(table)):
            grid.add_column(heading, overflow="fold")
        for row in layout_rows(table):
            grid.add_row(row.entity, row.type_name, *row.templates)
        console().print(grid)
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
