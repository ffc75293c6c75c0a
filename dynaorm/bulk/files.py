"""The files of an export: one file or a directory of data files, plain or gzip-compressed
(detected by its magic bytes), read as one sequence of lines (:class:`ExportLines`).

Example::

    lines = ExportLines(export_files("AWSDynamoDB/01700000000000-abcdef12/data"))
    imported = import_items(shop, lines, workers=4)
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from dynaorm.base.errors import ValidationError

__all__ = ["ExportLines", "export_files", "open_export"]

_GZIP_MAGIC = b"\x1f\x8b"
# The data files of a directory: DynamoDB's export to S3 writes ``data/<id>.json.gz`` next to
# its ``manifest-*.json`` files (which are not data, and are not matched).
_DATA_FILES = ("*.json.gz", "*.jsonl", "*.jsonl.gz")


def open_export(path: str | Path) -> IO[str]:
    """Open one export file for reading text: gzip-compressed (recognized by its first two
    bytes, whatever its name) or plain.

    Raises:
        OSError: The file cannot be read.

    Example:
        >>> import gzip, pathlib, tempfile
        >>> from dynaorm.bulk.item_lines import decode_line
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
        >>> from dynaorm.bulk.item_lines import decode_line
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
