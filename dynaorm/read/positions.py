"""Positions as compact bytes: the bodies of cursors (one ``ExclusiveStartKey``) and of scan
checkpoints (per segment, its state and position).

A position is each key attribute's name, type and value, in name order, lengths as varints;
reading accepts only what writing makes (one spelling per position), and every malformation
raises :class:`~dynaorm.InvalidCursor`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dynaorm.base.errors import InvalidCursor, ValidationError

__all__ = [
    "decode_position",
    "encode_position",
    "positions_body",
    "read_positions_body",
]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Reader:
    """Reads a body; every malformation raises InvalidCursor."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def fail(self) -> InvalidCursor:
        return InvalidCursor("the token's contents are unreadable")

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise self.fail()
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        n = shift = 0
        while True:
            b = self.byte()
            if shift and b == 0:  # only the shortest encoding is valid
                raise self.fail()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 63:
                raise self.fail()

    def chunk(self) -> bytes:
        size = self.varint()
        if size > len(self.data) - self.at:
            raise self.fail()
        self.at += size
        return self.data[self.at - size : self.at]

    def text(self) -> str:
        try:
            return self.chunk().decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail() from None

    def end(self) -> None:
        if self.at != len(self.data):
            raise self.fail()


def encode_position(position: Mapping[str, Any]) -> bytes:
    """A position (an ``ExclusiveStartKey``) as compact bytes: each attribute's name, type and
    value, in name order.

    Raises:
        ValidationError: A value is not a non-empty ``S``, ``N`` (text) or ``B`` (bytes).

    Example:
        >>> encode_position({"PK": {"S": "A"}})
        b'\\x01\\x02PKS\\x01A'
    """
    out = bytearray(_varint(len(position)))
    for name in sorted(position):
        value = position[name]
        if not isinstance(value, Mapping) or len(value) != 1:
            raise ValidationError(f"cannot put key attribute {name!r}={value!r} in a cursor")
        ((kind, raw),) = value.items()
        if kind in ("S", "N") and isinstance(raw, str) and raw:
            data = raw.encode("utf-8", "strict")
        elif kind == "B" and isinstance(raw, bytes | bytearray) and raw:
            data = bytes(raw)
        else:
            raise ValidationError(f"cannot put key attribute {name!r}={value!r} in a cursor")
        encoded_name = name.encode("utf-8")
        out += _varint(len(encoded_name)) + encoded_name + kind.encode()
        out += _varint(len(data)) + data
    return bytes(out)


def _read_position(reader: _Reader) -> dict[str, Any]:
    count = reader.varint()
    position: dict[str, Any] = {}
    previous = ""
    for i in range(count):
        name = reader.text()
        if not name or (i and name <= previous):  # names sorted, each once
            raise reader.fail()
        kind = chr(reader.byte())
        if kind in ("S", "N"):
            value: str | bytes = reader.text()
        elif kind == "B":
            value = reader.chunk()
        else:
            raise reader.fail()
        if not value:
            raise reader.fail()
        position[name] = {kind: value}
        previous = name
    return position


def decode_position(data: bytes) -> dict[str, Any]:
    """The position :func:`encode_position` made ``data`` from.

    Raises:
        InvalidCursor: ``data`` is not such an encoding (or has bytes left over).
    """
    reader = _Reader(data)
    position = _read_position(reader)
    reader.end()
    return position


def positions_body(positions: Iterable[Mapping[str, Any] | None], done: Iterable[bool]) -> bytes:
    """A checkpoint's body: the segment count, then per segment its state and position."""
    pairs = list(zip(positions, done, strict=True))
    out = bytearray(_varint(len(pairs)))
    for position, finished in pairs:
        if finished:
            out.append(2)
        elif position is None:
            out.append(0)
        else:
            out.append(1)
            out += encode_position(position)
    return bytes(out)


def read_positions_body(
    body: bytes,
) -> tuple[tuple[dict[str, Any] | None, ...], tuple[bool, ...]]:
    """Per segment, the position and whether it is done, from :func:`positions_body`.

    Raises:
        InvalidCursor: ``body`` is not such a body.
    """
    reader = _Reader(body)
    count = reader.varint()
    if count < 1:
        raise reader.fail()
    positions: list[dict[str, Any] | None] = []
    done: list[bool] = []
    for _ in range(count):
        state = reader.byte()
        if state not in (0, 1, 2):
            raise reader.fail()
        positions.append(_read_position(reader) if state == 1 else None)
        done.append(state == 2)
    reader.end()
    return tuple(positions), tuple(done)
