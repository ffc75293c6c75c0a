"""DynamoDB JSON: the one encoder of typed values, items and requests to JSON, and its reverse.

A typed value (``{"S": "x"}``, ``{"N": "1.5"}``, ``{"M": {...}}``) is JSON already, except for
binary payloads: DynamoDB JSON writes them as standard base64 text, as the wire protocol,
DynamoDB's export to S3 and ImportTable do (``{"B": "AAE="}``). Requests hold typed values at
any depth (``Item``, ``Key``, ``ExpressionAttributeValues``, ``RequestItems``...), so
:func:`to_json` encodes binary wherever it is, and writes sets as sorted lists.

Reading back needs the types: only they tell base64 text from other text, so
:func:`item_from_json` walks the typed values, checking their shape as it goes.

Every JSON form of DynamoDB data (exports, cursor digests, ``dynaorm explain``, the layout
report, the fault injector's canned responses) goes through here.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "TYPE_TAGS",
    "binary_from_text",
    "binary_text",
    "item_from_json",
    "item_to_json",
    "jsonable",
    "to_json",
]

TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})


def binary_text(payload: bytes | bytearray) -> str:
    """A binary payload as DynamoDB JSON writes it: standard base64 text.

    Example:
        >>> binary_text(b"\\x00\\x01")
        'AAE='
    """
    return base64.b64encode(bytes(payload)).decode("ascii")


def binary_from_text(text: Any) -> bytes:
    """The payload of base64 text, strictly (no stray characters, correct padding).

    Raises:
        ValueError: ``text`` is not base64 text.

    Example:
        >>> binary_from_text("AAE=")
        b'\\x00\\x01'
    """
    if not isinstance(text, str):
        raise ValueError(f"a binary value must be a base64 string, not {type(text).__name__}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"binary value {text[:40]!r} is not base64") from None


def jsonable(value: Any) -> Any:
    """The ``default`` of ``json.dumps`` for DynamoDB data: binary as base64 text, sets as
    lists sorted by their members' ``repr``.

    Raises:
        TypeError: Any other value JSON cannot hold.

    Example:
        >>> jsonable(b"\\x00\\x01"), jsonable({"b", "a"})
        ('AAE=', ['a', 'b'])
    """
    if isinstance(value, bytes | bytearray):
        return binary_text(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(
    value: Any,
    *,
    compact: bool = False,
    indent: int | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = True,
) -> str:
    """JSON text of DynamoDB data: typed values, items, requests, responses.

    Args:
        value: What to encode; binary values and sets may be anywhere in it.
        compact: No spaces after separators (``{"a":1}``).
        indent: Indent nested levels by this many spaces (for display).
        sort_keys: Write object members sorted by name (a stable text for digests).
        ensure_ascii: Escape non-ASCII characters.

    Example:
        >>> to_json({"Key": {"PK": {"B": b"\\x00\\x01"}}}, compact=True)
        '{"Key":{"PK":{"B":"AAE="}}}'
    """
    return json.dumps(
        value,
        default=jsonable,
        indent=indent,
        sort_keys=sort_keys,
        ensure_ascii=ensure_ascii,
        separators=(",", ":") if compact else None,
    )


def _rebuilt(value: Any, binary: Callable[[Any], Any], where: str) -> dict[str, Any]:
    """One typed value rebuilt, its shape checked and its binary payloads passed through
    ``binary``."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"{where} is not a typed value like {{'S': ...}}")
    ((kind, payload),) = value.items()
    if kind not in TYPE_TAGS:
        raise ValueError(f"{where} has unknown type {kind!r}")
    if kind == "B":
        return {kind: _payload(binary, payload, where)}
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
    if kind == "BS":
        return {kind: [_payload(binary, member, where) for member in payload]}
    if kind == "M":
        if not isinstance(payload, Mapping):
            raise ValueError(f"{where}: an M value is an object, not {type(payload).__name__}")
        return {kind: {n: _rebuilt(v, binary, f"{where}.{n}") for n, v in payload.items()}}
    if kind == "L":
        return {kind: [_rebuilt(v, binary, f"{where}[{i}]") for i, v in enumerate(payload)]}
    return {kind: payload}


def _payload(binary: Callable[[Any], Any], payload: Any, where: str) -> Any:
    try:
        return binary(payload)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _payload_text(payload: Any) -> str:
    if not isinstance(payload, bytes | bytearray):
        raise ValueError(f"a binary value is bytes, not {type(payload).__name__}")
    return binary_text(payload)


def item_to_json(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (binary values as bytes, as DynamoDB returns them) as JSON-ready typed values.

    Raises:
        ValueError: A value is not a well-formed typed value (the message names it).

    Example:
        >>> item_to_json({"PK": {"S": "P#1"}, "blob": {"BS": [b"\\x00"]}})
        {'PK': {'S': 'P#1'}, 'blob': {'BS': ['AA==']}}
    """
    return {name: _rebuilt(v, _payload_text, f"attribute {name!r}") for name, v in item.items()}


def item_from_json(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An item read from DynamoDB JSON: binary values back to bytes, every value's shape
    checked.

    Raises:
        ValueError: A value is not a well-formed typed value, or a binary value is not base64
            text (the message names it).

    Example:
        >>> item_from_json({"PK": {"S": "P#1"}, "blob": {"B": "AAE="}})
        {'PK': {'S': 'P#1'}, 'blob': {'B': b'\\x00\\x01'}}
    """
    return {name: _rebuilt(v, binary_from_text, f"attribute {name!r}") for name, v in raw.items()}
