"""Items as lines of DynamoDB's typed JSON, the format of ``dynaorm export/import``.

A line holds one item exactly as stored (``{"PK": {"S": "CUSTOMER#c1"}, ...}``, binary
values base64-encoded, numbers as their text), bare or wrapped as ``{"Item": {...}}``, the
DynamoDB JSON format of DynamoDB's own export to S3 (and of ImportTable); decoding accepts
both and checks every typed value's shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dynaorm.base.errors import ValidationError
from dynaorm.base.typed_json import TYPE_TAGS, item_from_json, item_to_json, to_json

__all__ = ["decode_line", "encode_item"]

_WRAPPER = "Item"


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
