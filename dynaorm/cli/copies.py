"""The copy commands: ``dynaorm export`` (every item, raw, to a file) and ``dynaorm import``
(those lines back, from a file or a directory), with progress bars."""

from __future__ import annotations

import argparse
import gzip
import re
import time
from pathlib import Path

from dynaorm.base.errors import ConfigurationError, DynaormError, ImportIncomplete, ValidationError
from dynaorm.bulk.exporting import export_items
from dynaorm.bulk.files import ExportLines, export_files
from dynaorm.bulk.importing import import_items
from dynaorm.cli.terminal import progress
from dynaorm.tools.loader import load_table

__all__ = ["run_export", "run_import"]


def run_export(args: argparse.Namespace) -> int:
    """``dynaorm export myapp.models:shop shop.json.gz``: copy every item to a file."""
    table = load_table(args.table)
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
        with progress() as bar, opened as out:
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


def run_import(args: argparse.Namespace) -> int:
    """``dynaorm import myapp.models:shop shop.json.gz``: write its lines back."""
    table = load_table(args.table)
    if args.workers < 1:
        raise ConfigurationError(f"--workers is 1 or more, not {args.workers}")
    lines = ExportLines(export_files(args.file))
    total = sum(lines.counts())
    started = time.perf_counter()
    try:
        with progress() as bar:
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
