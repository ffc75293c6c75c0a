"""Bulk export and import of a table's items as JSON lines (behind ``dynaorm export/import``).

One line holds one item in DynamoDB's typed JSON (``{"PK": {"S": "CUSTOMER#c1"}, ...}``), with
binary values base64-encoded, so a file round-trips every attribute type exactly. Exports run a
(parallel) scan; imports dispatch each line to its entity by the table's type attribute,
validate it as the entity defines it, and write it with a batch writer.

Example::

    with open("shop.jsonl", "w") as out:
        exported = export_items(shop, out, segments=4)
    with open("shop.jsonl") as lines:
        imported = import_items(shop, lines, workers=4)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from dynaorm._batching import BatchProgress
from dynaorm._errors import ValidationError
from dynaorm._paging import UnknownItem
from dynaorm._table import Table

__all__ = ["decode_line", "encode_item", "export_items", "import_items"]

_BINARY = "B"
_BINARY_SET = "BS"


def _map_value(value: Mapping[str, Any], binary: Callable[[Any], Any]) -> dict[str, Any]:
    """Rebuild one typed value, passing binary payloads through ``binary``."""
    ((kind, payload),) = value.items()
    if kind == _BINARY:
        return {kind: binary(payload)}
    if kind == _BINARY_SET:
        return {kind: [binary(member) for member in payload]}
    if kind == "M":
        return {kind: {name: _map_value(v, binary) for name, v in payload.items()}}
    if kind == "L":
        return {kind: [_map_value(v, binary) for v in payload]}
    return {kind: payload}


def _to_text(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def _to_bytes(payload: Any) -> bytes:
    if not isinstance(payload, str):
        raise ValueError(f"a binary value must be a base64 string, not {type(payload).__name__}")
    return base64.b64decode(payload, validate=True)


def encode_item(item: Mapping[str, Any]) -> str:
    """One item as a line of typed JSON (no trailing newline).

    Example:
        >>> encode_item({"PK": {"S": "P#1"}, "blob": {"B": b"\\x00\\x01"}})
        '{"PK": {"S": "P#1"}, "blob": {"B": "AAE="}}'
    """
    return json.dumps({name: _map_value(v, _to_text) for name, v in item.items()})


def decode_line(line: str, number: int) -> dict[str, Any]:
    """The item on line ``number`` (1-based, for messages) of an export file.

    Raises:
        ValidationError: The line is not a JSON object of typed attribute values.

    Example:
        >>> decode_line('{"PK": {"S": "P#1"}, "blob": {"B": "AAE="}}', 1)
        {'PK': {'S': 'P#1'}, 'blob': {'B': b'\\x00\\x01'}}
    """
    try:
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
        item: dict[str, Any] = {}
        for name, value in raw.items():
            if not isinstance(value, dict) or len(value) != 1:
                raise ValueError(f"attribute {name!r} is not a typed value like {{'S': ...}}")
            item[name] = _map_value(value, _to_bytes)
        return item
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise ValidationError(f"line {number}: {exc}") from None


def export_items(
    table: Table,
    out: IO[str],
    *,
    segments: int = 1,
    on_item: Callable[[int], None] | None = None,
) -> int:
    """Write every item of ``table`` to ``out``, one typed-JSON line each.

    Items of known types are written as their entity serializes them; items of types no
    entity claims are written as stored.

    Args:
        table: The table to read.
        out: A text stream.
        segments: Parallel scan segments.
        on_item: Called with the running count after each item (for progress bars).

    Returns:
        The number of items written.
    """
    count = 0
    for entry in table.scan().segments(segments):
        item = entry.item if isinstance(entry, UnknownItem) else entry.to_item()
        out.write(encode_item(item))
        out.write("\n")
        count += 1
        if on_item is not None:
            on_item(count)
    return count


def _check_keys(table: Table, item: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> None:
    """Refuse an item whose stored keys differ from the keys its fields make."""
    for name in table.key_attributes:
        stored, built = item.get(name), rebuilt.get(name)
        if stored != built:
            raise ValidationError(
                f"key attribute {name!r} is {stored!r} in the file but the entity's templates "
                f"make {built!r} from its fields; refusing to write a different key"
            )


def import_items(
    table: Table,
    lines: Iterable[str],
    *,
    workers: int = 1,
    progress: Callable[[BatchProgress], None] | None = None,
) -> int:
    """Write the items of an export file into ``table`` with a batch writer.

    Every line is checked (JSON, entity type, attribute types, size, and that its stored key
    attributes are the ones its fields make) before it is buffered, and items are written as
    they are (versions and timestamps kept). Blank lines are skipped.

    Args:
        table: The table to write.
        lines: The file's lines.
        workers: Requests in flight at once.
        progress: The batch writer's progress callback.

    Returns:
        The number of items written.

    Raises:
        ValidationError: A line is malformed or its item does not fit its entity; the message
            names the line. Lines before it were already written.
        UnknownEntityType: A line's item has a type no entity of the table claims.
        BatchIncomplete: Writes were still unprocessed when the retry policy ran out.
    """
    count = 0
    with table.batch_write(workers=workers, progress=progress) as batch:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            item = decode_line(line, number)
            try:
                entity = table.from_item(item)
                _check_keys(table, item, entity.to_item())
                batch.put(entity, unconditional=True)
            except ValidationError as exc:
                raise ValidationError(f"line {number}: {exc}") from None
            count += 1
    return count
