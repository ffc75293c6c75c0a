"""DynamoDB JSON lines, written and read here independently of dynaorm: what an export file
holds (typed attribute values, binary as base64, optionally wrapped as ``{"Item": {...}}``), so
the command-line tests set up and check files by the documented format, not by the library's
own encoder."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["decode", "encode"]


def _typed(value: Mapping[str, Any], blob: Callable[[Any], Any]) -> dict[str, Any]:
    """A typed value (``{"S": ...}``, ``{"B": ...}``, ...) with ``blob`` applied to its binaries."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: blob(inner)}
    if kind == "BS":
        return {kind: [blob(member) for member in inner]}
    if kind == "M":
        return {kind: {name: _typed(member, blob) for name, member in inner.items()}}
    if kind == "L":
        return {kind: [_typed(member, blob) for member in inner]}
    return {kind: inner}


def encode(item: Mapping[str, Any]) -> str:
    """``item`` (as DynamoDB returns it, binary values as bytes) as one bare line."""

    def to_text(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return json.dumps({name: _typed(value, to_text) for name, value in item.items()})


def decode(line: str) -> dict[str, Any]:
    """The item of a bare or an ``{"Item": {...}}`` line, binary values as bytes."""
    raw = json.loads(line)
    if set(raw) == {"Item"}:
        raw = raw["Item"]
    return {name: _typed(value, base64.b64decode) for name, value in raw.items()}
