"""Bulk import of JSON lines into a table (behind ``dynaorm import``).

An import writes the items of an export (:mod:`dynaorm.bulk.exporting`) back exactly as they
are, in batches: every line is checked first (:func:`~dynaorm.bulk.storable.check_stored_item`),
and an import that stops says exactly which lines were written.

Example::

    with open("shop.jsonl") as lines:
        imported = import_items(shop, lines, workers=4)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from dynaorm.base.errors import DynaormError, ImportIncomplete, ValidationError
from dynaorm.bulk.batching import BatchProgress, PhysicalKey, physical_key
from dynaorm.bulk.item_lines import decode_line
from dynaorm.bulk.storable import check_stored_item

if TYPE_CHECKING:
    from dynaorm.api.table import Table


__all__ = ["import_items"]


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
