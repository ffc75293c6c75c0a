"""Bulk export and import of a table's items as JSON lines (behind ``dynaorm export/import``).

An export is a **raw copy**: one line per item, exactly as stored, in DynamoDB's typed JSON
(``{"PK": {"S": "CUSTOMER#c1"}, ...}``, binary values base64-encoded, numbers as their
text), whatever the item's type or shape: items of unknown types, items without a type
attribute, attributes another client added, values no entity would decode. Nothing is
decoded, defaulted or re-encoded on the way. An import writes those items back exactly as
they are, so export, delete, create, import gives back the table as it was.

Each line of an export may also be wrapped as ``{"Item": {...}}``, the DynamoDB JSON format of
DynamoDB's own export to S3 (and of ImportTable); imports accept both, plain or
gzip-compressed (detected by its magic bytes), one file or a directory of data files
(:func:`export_files`, :class:`ExportLines`).

Example::

    with open("shop.jsonl", "w") as out:
        exported = export_items(shop, out, segments=4)
    with open("shop.jsonl") as lines:
        imported = import_items(shop, lines, workers=4)
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

import attrs

from dynaorm.base.errors import DynaormError, ImportIncomplete, ValidationError
from dynaorm.base.limits import PARTITION_KEY_LIMIT, SORT_KEY_LIMIT, check_value
from dynaorm.base.sizes import check_item
from dynaorm.base.typed_json import TYPE_TAGS, item_from_json, item_to_json, to_json
from dynaorm.bulk.batching import BatchProgress, PhysicalKey, physical_key
from dynaorm.model.table import Table
from dynaorm.read.paging import Plan
from dynaorm.read.scan_runner import ScanCheckpoint, run_segments

__all__ = [
    "ExportLines",
    "check_stored_item",
    "decode_line",
    "encode_item",
    "export_files",
    "export_items",
    "import_items",
    "open_export",
]

_WRAPPER = "Item"
_GZIP_MAGIC = b"\x1f\x8b"
# The data files of a directory: DynamoDB's export to S3 writes ``data/<id>.json.gz`` next to
# its ``manifest-*.json`` files (which are not data, and are not matched).
_DATA_FILES = ("*.json.gz", "*.jsonl", "*.jsonl.gz")


def encode_item(item: Mapping[str, Any], *, wrap: bool = False) -> str:
    """One item as a line of typed JSON (no trailing newline).

    Args:
        item: The item as DynamoDB returns it (binary values as bytes).
        wrap: Write ``{"Item":{...}}`` in DynamoDB's export format: compact, as DynamoDB's
            export to S3 writes its data files and ImportTable reads them.

    Example:
        >>> encode_item({"PK": {"S": "P#1"}, "blob": {"B": b"\\x00\\x01"}})
        '{"PK": {"S": "P#1"}, "blob": {"B": "AAE="}}'
        >>> encode_item({"PK": {"S": "P#1"}}, wrap=True)
        '{"Item":{"PK":{"S":"P#1"}}}'
    """
    encoded = item_to_json(item)
    return to_json({_WRAPPER: encoded} if wrap else encoded, compact=wrap, ensure_ascii=False)


def _unwrapped(raw: dict[str, Any]) -> dict[str, Any]:
    """The item of an ``{"Item": {...}}`` line; other lines as they are. An item whose only
    attribute is called ``Item`` holds a typed value there, never a map of attributes."""
    if set(raw) != {_WRAPPER} or not isinstance(raw[_WRAPPER], dict):
        return raw
    inner: dict[str, Any] = raw[_WRAPPER]
    if len(inner) == 1 and next(iter(inner)) in TYPE_TAGS:
        return raw
    return inner


def decode_line(line: str, number: int) -> dict[str, Any]:
    """The item on line ``number`` (1-based, for messages) of an export file.

    Accepts a bare item and an ``{"Item": {...}}`` line alike.

    Raises:
        ValidationError: The line is not a JSON object of typed attribute values.

    Example:
        >>> decode_line('{"PK": {"S": "P#1"}, "blob": {"B": "AAE="}}', 1)
        {'PK': {'S': 'P#1'}, 'blob': {'B': b'\\x00\\x01'}}
        >>> decode_line('{"Item": {"PK": {"S": "P#1"}}}', 2)
        {'PK': {'S': 'P#1'}}
    """
    try:
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
        return item_from_json(_unwrapped(raw))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(f"line {number}: {exc}") from None


def open_export(path: str | Path) -> IO[str]:
    """Open one export file for reading text: gzip-compressed (recognized by its first two
    bytes, whatever its name) or plain.

    Raises:
        OSError: The file cannot be read.

    Example:
        >>> import gzip, pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "part"  # gzip, though not named .gz
        >>> _ = path.write_bytes(gzip.compress(b'{"Item":{"PK":{"S":"P#1"}}}\\n'))
        >>> with open_export(path) as lines:
        ...     [decode_line(line, n) for n, line in enumerate(lines, 1)]
        [{'PK': {'S': 'P#1'}}]
    """
    target = Path(path)
    with target.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    if compressed:
        return io.TextIOWrapper(gzip.open(target, "rb"), encoding="utf-8")
    return target.open(encoding="utf-8")


def export_files(path: str | Path) -> list[Path]:
    """The data files of an export: ``path`` itself when it is a file; for a directory (such
    as the ``AWSDynamoDB/<ExportId>`` folder of an export to S3, or its ``data`` folder) every
    ``*.json.gz``, ``*.jsonl`` and ``*.jsonl.gz`` file under it, sorted by path.

    Raises:
        ValidationError: A directory holds no data file.
        FileNotFoundError: ``path`` does not exist.

    Example:
        >>> import pathlib, tempfile
        >>> export = pathlib.Path(tempfile.mkdtemp())
        >>> (export / "data").mkdir()
        >>> for name in ("manifest-summary.json", "data/b.json.gz", "data/a.json.gz"):
        ...     _ = (export / name).write_bytes(b"")
        >>> [str(p.relative_to(export)) for p in export_files(export)]
        ['data/a.json.gz', 'data/b.json.gz']
    """
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"no such file or directory: {str(target)!r}")
    if not target.is_dir():
        return [target]
    found = sorted({file for pattern in _DATA_FILES for file in target.rglob(pattern)})
    files = [file for file in found if file.is_file()]
    if not files:
        raise ValidationError(
            f"directory {str(target)!r} holds no export data file ({', '.join(_DATA_FILES)})"
        )
    return files


class ExportLines:
    """The lines of one or more export files, read in order, gzip or not; iterating again
    starts over from the first file, so an import can check them all before writing.

    Line numbers (in messages, ``ImportIncomplete.written``) run on across the files;
    :meth:`locate` turns one back into a file and its own line.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "1.jsonl").write_text('{"Item":{"PK":{"S":"A"}}}\\n')
        >>> _ = (folder / "2.jsonl").write_text('{"PK":{"S":"B"}}\\n{"PK":{"S":"C"}}\\n')
        >>> lines = ExportLines(export_files(folder))
        >>> lines.counts(), lines.locate(3)[1]
        ([1, 2], 2)
        >>> [decode_line(line, 0)["PK"]["S"] for line in lines]  # import_items(table, lines)
        ['A', 'B', 'C']
    """

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self._counts: list[int] | None = None

    def seekable(self) -> bool:
        """True: the files can be read again (see :meth:`seek`)."""
        return True

    def tell(self) -> int:
        """The start (every pass reads all the files)."""
        return 0

    def seek(self, offset: int) -> int:
        """Start over (the next iteration reads from the first file again)."""
        return 0

    def __iter__(self) -> Iterator[str]:
        for path in self.paths:
            with open_export(path) as stream:
                yield from stream

    def counts(self) -> list[int]:
        """The number of non-blank lines of each file (read once, then remembered)."""
        if self._counts is None:
            counted = []
            for path in self.paths:
                with open_export(path) as stream:
                    counted.append(sum(1 for line in stream if line.strip()))
            self._counts = counted
        return list(self._counts)

    def locate(self, number: int) -> tuple[Path, int]:
        """The file holding line ``number`` (1-based, counted across the files, blank lines
        included) and its line number in that file."""
        for path in self.paths:
            with open_export(path) as stream:
                size = sum(1 for _ in stream)
            if number <= size:
                return path, number
            number -= size
        return self.paths[-1], number


def _check_no_duplicates(value: Mapping[str, Any], what: str) -> None:
    ((kind, payload),) = value.items()
    if kind in ("SS", "BS", "NS"):
        members = [Decimal(m) for m in payload] if kind == "NS" else payload
        if len(set(members)) != len(members):
            raise ValidationError(f"{what}: the {kind} set holds a member twice")
    elif kind == "L":
        for position, member in enumerate(payload):
            _check_no_duplicates(member, f"{what}[{position}]")
    elif kind == "M":
        for name, member in payload.items():
            _check_no_duplicates(member, f"{what}.{name}")


def _check_key(item: Mapping[str, Any], name: str, limit: int, *, required: bool) -> None:
    value = item.get(name)
    if value is None:
        if required:
            raise ValidationError(f"the item has no key attribute {name!r}")
        return
    text = value.get("S")
    if set(value) != {"S"} or not text:
        raise ValidationError(
            f"key attribute {name!r} is {value!r}; the table's keys are non-empty strings"
        )
    if len(text.encode("utf-8")) > limit:
        raise ValidationError(f"key attribute {name!r} is longer than {limit} bytes")


def check_stored_item(table: Table, item: Mapping[str, Any]) -> None:
    """Raise unless DynamoDB would store ``item`` in ``table`` as it is (checked offline).

    Checks the table's key attributes (present, non-empty strings, within the key size
    limits), index key attributes when present (strings: every key the definition creates
    is one), numbers, text, sets (not empty, no member twice) and the 400 KB item size.

    Raises:
        ValidationError: The first problem found.

    Example:
        >>> check_stored_item(Table("t"), {"PK": {"S": "A"}, "SK": {"S": "B"}})
        >>> check_stored_item(Table("t"), {"PK": {"S": "A"}})
        Traceback (most recent call last):
        dynaorm.base.errors.ValidationError: the item has no key attribute 'SK'
    """
    _check_key(item, table.pk, PARTITION_KEY_LIMIT, required=True)
    if table.sk is not None:
        _check_key(item, table.sk, SORT_KEY_LIMIT, required=True)
    for index in table.indexes:
        if index.pk is not None:
            _check_key(item, index.pk, PARTITION_KEY_LIMIT, required=False)
        if index.sk is not None:
            _check_key(item, index.sk, SORT_KEY_LIMIT, required=False)
    for name, value in item.items():
        if not name:
            raise ValidationError(
                "an attribute name is empty; DynamoDB names are 1 or more characters"
            )
        check_value(value, what=f"attribute {name!r}")
        _check_no_duplicates(value, f"attribute {name!r}")
    check_item(item, what="the item")


def export_items(
    table: Table,
    out: IO[str],
    *,
    segments: int = 1,
    consistent: bool = False,
    wrap: bool = False,
    on_item: Callable[[int], None] | None = None,
) -> int:
    """Write every item of ``table`` to ``out`` exactly as stored, one typed-JSON line each.

    Nothing is decoded: items of every type (known, unknown or none) and every shape are
    copied raw, attributes and values as DynamoDB returns them.

    Args:
        table: The table to read.
        out: A text stream.
        segments: Parallel scan segments.
        consistent: Strongly consistent scan (twice the read capacity).
        wrap: Write each line as ``{"Item": {...}}``, like DynamoDB's own exports.
        on_item: Called with the running count after each item (for progress bars).

    Returns:
        The number of items written.

    Raises:
        ValidationError: ``segments`` is not a positive integer.
        ServiceError: The scan failed (``TableNotFound`` for a missing table).

    Example:
        >>> with open("shop.jsonl", "w") as out:  # doctest: +SKIP
        ...     export_items(shop, out, segments=4)
        1200
    """
    scan = table.scan().segments(segments).consistent(consistent)
    plans = [_raw_plan(cast("Plan[Any]", plan)) for plan in scan._plans_for(segments, None)]
    pages = run_segments(plans, ScanCheckpoint.start(segments), None, workers=segments)
    count = 0
    for page in pages:
        for item in page.items:
            out.write(encode_item(item, wrap=wrap))
            out.write("\n")
            count += 1
            if on_item is not None:
                on_item(count)
    return count


def _raw(item: dict[str, Any]) -> dict[str, Any]:
    return item


def _raw_plan(plan: Plan[Any]) -> Plan[dict[str, Any]]:
    """A scan plan that hands over each item as stored, undecoded."""
    raw: Plan[dict[str, Any]] = attrs.evolve(plan, decode=_raw)
    return raw


def _check_line(
    table: Table, seen: dict[PhysicalKey, int], number: int, line: str
) -> dict[str, Any] | None:
    """Line ``number``'s checked item (``None`` for a blank line); refuses a bad line, or a
    key an earlier line (recorded in ``seen``) already holds."""
    if not line.strip():
        return None
    item = decode_line(line, number)
    try:
        check_stored_item(table, item)
    except ValidationError as exc:
        raise ValidationError(f"line {number}: {exc}") from None
    key = physical_key(table, item)
    if key in seen:
        raise ValidationError(
            f"line {number}: the item has the key of line {seen[key]} ({dict(key)}); an "
            "export holds each item once"
        )
    seen[key] = number
    return item


def _twice(lines: Iterable[str]) -> tuple[Iterable[str], Callable[[], Iterable[str]]]:
    """The lines to validate, and how to get them again for writing (a seekable file is read
    twice, anything else is held in memory)."""
    seekable = getattr(lines, "seekable", None)
    if callable(seekable) and seekable():
        stream = cast("IO[str]", lines)
        start = stream.tell()

        def again() -> Iterable[str]:
            stream.seek(start)
            return stream

        return stream, again
    held: Sequence[str] = lines if isinstance(lines, list | tuple) else list(lines)
    return held, lambda: held


def _ranges(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3, 7"``."""
    parts: list[str] = []
    start = previous = None
    for n in [*numbers, None]:
        if n is not None and previous is not None and n == previous + 1:
            previous = n
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = n
    return ", ".join(parts)


def _accounting(accepted: list[int], unwritten: Iterable[Any], unknown: Iterable[Any]) -> str:
    """Which accepted lines were written, and which may or may not have been."""
    missing, maybe = set(unwritten), set(unknown)
    written = [n for n in accepted if n not in missing and n not in maybe]
    unsure = [n for n in accepted if n in maybe]
    text = f"lines {_ranges(written)} ({len(written)} items)" if written else "no line"
    if unsure:
        text += (
            f"; outcome unknown (sent, no answer): lines {_ranges(unsure)} "
            f"({len(unsure)} items; importing them again is safe, a put is idempotent)"
        )
    return f"written: {text}, nothing else"


def _incomplete(
    table: Table,
    accepted: list[int],
    unwritten: Iterable[Any],
    line: int | None,
    cause: str,
    unknown: Iterable[Any] = (),
) -> ImportIncomplete:
    missing, maybe = set(unwritten), set(unknown)
    where = f"at line {line}" if line is not None else "while writing"
    return ImportIncomplete(
        f"import into {table.name!r} stopped {where}: {cause}; "
        f"{_accounting(accepted, missing, maybe)}",
        written=[n for n in accepted if n not in missing and n not in maybe],
        unknown=[n for n in accepted if n in maybe],
        line=line,
    )


def import_items(
    table: Table,
    lines: Iterable[str],
    *,
    workers: int = 1,
    progress: Callable[[BatchProgress], None] | None = None,
    validate_first: bool = True,
) -> int:
    """Write the items of an export file into ``table`` exactly as they are, in batches.

    Each line is one item in typed JSON (bare, or wrapped as ``{"Item": {...}}``); it is
    written raw, whatever its type or shape (no entity decodes it, no version or timestamp
    is set). Every line is checked first: JSON, typed values, the table's key attributes,
    numbers, sets and size (see :func:`check_stored_item`), and that no two lines hold one
    key. Blank lines are skipped.

    Args:
        table: The table to write.
        lines: The file's lines (an open file, a list of lines, any iterable).
        workers: Requests in flight at once.
        progress: The batch writer's progress callback.
        validate_first: Check the whole file before writing anything (the default): a bad
            line then leaves the table untouched. ``False`` writes while reading; a bad line
            stops the import after the lines before it were written. A seekable file is read
            twice; other iterables are held in memory to be checked first.

    Returns:
        The number of items written.

    Raises:
        ValidationError: (``validate_first``) a line is malformed or its item cannot be
            stored; the message names the line. Nothing was written.
        ImportIncomplete: The import stopped after writing some lines: a bad line
            (``validate_first=False``) or a failed write (retries exhausted, a server
            error). ``.written`` lists exactly the lines written, ``.unknown`` the lines
            sent without an answer (they may or may not be stored; importing them again is
            safe), ``.line`` the bad line; the cause is chained. Any other exception that
            ends the import (Ctrl-C, an error in ``progress``) carries a note saying the
            same.

    Example:
        >>> with open("shop.jsonl") as lines:  # doctest: +SKIP
        ...     import_items(shop, lines, workers=4)
        1200
    """
    if validate_first:
        checked, lines_again = _twice(lines)
        seen: dict[PhysicalKey, int] = {}
        for number, line in enumerate(checked, start=1):
            _check_line(table, seen, number, line)
        lines = lines_again()
    seen = {}
    accepted: list[int] = []
    batch = table.batch_write(workers=workers, progress=progress)
    bad: tuple[int, ValidationError] | None = None
    try:
        with batch:
            for number, line in enumerate(lines, start=1):
                try:
                    item = _check_line(table, seen, number, line)
                except ValidationError as exc:
                    bad = (number, exc)
                    break
                if item is not None:
                    accepted.append(number)
                    batch._put_item(item, number)
    except DynaormError as exc:
        result = batch.result
        line_number = bad[0] if bad else None
        raise _incomplete(
            table, accepted, result.unprocessed, line_number, str(exc), result.unknown
        ) from exc
    except BaseException as exc:  # Ctrl-C, an error in the progress callback: say what landed
        result = batch.result
        exc.add_note(
            f"import into {table.name!r} interrupted: "
            f"{_accounting(accepted, result.unprocessed, result.unknown)}"
        )
        raise
    if bad is not None:
        number, error = bad
        raise _incomplete(table, accepted, (), number, str(error)) from error
    return len(accepted)
