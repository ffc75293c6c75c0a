"""Items as lines of DynamoDB's typed JSON, the format of ``dynaorm export/import``.

A line holds one item exactly as stored (``{"PK": {"S": "CUSTOMER#c1"}, ...}``, binary
values base64-encoded, numbers as their text), bare or wrapped as ``{"Item": {...}}``, the
DynamoDB JSON format of DynamoDB's own export to S3 (and of ImportTable); decoding accepts
both and checks every typed value's shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from dynaorm.base.errors import ValidationError

__all__ = ["decode_line", "encode_item"]

_BINARY = "B"
_BINARY_SET = "BS"
_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
_WRAPPER = "Item"


def _map_value(value: Any, binary: Callable[[Any], Any], where: str) -> dict[str, Any]:
    """Rebuild one typed value, checking its shape and passing binary payloads through
    ``binary``."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"{where} is not a typed value like {{'S': ...}}")
    ((kind, payload),) = value.items()
    if kind not in _TAGS:
        raise ValueError(f"{where} has unknown type {kind!r}")
    if kind == _BINARY:
        return {kind: binary(payload)}
    if kind in ("S", "N") and not isinstance(payload, str):
        raise ValueError(f"{where}: a {kind} value is a string, not {type(payload).__name__}")
    if kind == "BOOL" and not isinstance(payload, bool):
        raise ValueError(f"{where}: a BOOL value is true or false, not {payload!r}")
    if kind == "NULL" and payload is not True:
        raise ValueError(f"{where}: a NULL value is true, not {payload!r}")
    if kind in ("SS", "NS", "BS", "L") and not isinstance(payload, list):
        raise ValueError(f"{where}: an {kind} value is a list, not {type(payload).__name__}")
    if kind in ("SS", "NS") and not all(isinstance(member, str) for member in payload):
        raise ValueError(f"{where}: the members of an {kind} value are strings")
    if kind == _BINARY_SET:
        return {kind: [binary(member) for member in payload]}
    if kind == "M":
        if not isinstance(payload, Mapping):
            raise ValueError(f"{where}: an M value is an object, not {type(payload).__name__}")
        return {kind: {n: _map_value(v, binary, f"{where}.{n}") for n, v in payload.items()}}
    if kind == "L":
        return {kind: [_map_value(v, binary, f"{where}[{i}]") for i, v in enumerate(payload)]}
    return {kind: payload}


def _to_text(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def _to_bytes(payload: Any) -> bytes:
    if not isinstance(payload, str):
        raise ValueError(f"a binary value must be a base64 string, not {type(payload).__name__}")
    return base64.b64decode(payload, validate=True)


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
    encoded = {name: _map_value(v, _to_text, repr(name)) for name, v in item.items()}
    if wrap:
        return json.dumps({_WRAPPER: encoded}, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(encoded, ensure_ascii=False)


def _unwrapped(raw: dict[str, Any]) -> dict[str, Any]:
    """The item of an ``{"Item": {...}}`` line; other lines as they are. An item whose only
    attribute is called ``Item`` holds a typed value there, never a map of attributes."""
    if set(raw) != {_WRAPPER} or not isinstance(raw[_WRAPPER], dict):
        return raw
    inner: dict[str, Any] = raw[_WRAPPER]
    if len(inner) == 1 and next(iter(inner)) in _TAGS:
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
        return {
            name: _map_value(value, _to_bytes, f"attribute {name!r}")
            for name, value in _unwrapped(raw).items()
        }
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise ValidationError(f"line {number}: {exc}") from None
