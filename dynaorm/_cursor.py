"""Pagination cursors: opaque, URL-safe, HMAC-SHA256 signed, bound to one query.

A cursor is ``base64url(version | digest | position | mac)`` without padding:

* ``version``: one byte, currently 1;
* ``digest``: 16 bytes of SHA-256 over the request it continues, less what does not move the
  position (``Limit``, ``ConsistentRead``, ``Select``, ``ReturnConsumedCapacity``): table,
  index, key condition with the partition value, filter, projection, direction, scan segment;
* ``position``: the ``ExclusiveStartKey`` as compact JSON;
* ``mac``: HMAC-SHA256 of everything before it, under the cursor secret.

A cursor that does not decode, whose MAC does not verify (tampered, truncated, signed with
another secret), or whose digest is another query's raises :class:`~dynaorm.InvalidCursor`.

The secret comes from ``Settings.cursor_secret`` (the table's, then :func:`dynaorm.configure`),
then ``DYNAORM_CURSOR_SECRET``; without either, a random secret is made for this process and a
warning says that cursors will not survive a restart or reach another process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from dynaorm._errors import InvalidCursor
from dynaorm._settings import Settings, current_settings

__all__ = ["cursor_secret", "decode_cursor", "encode_cursor", "request_digest"]

_VERSION = b"\x01"
_DIGEST_BYTES = 16
_MAC_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# Request members that do not change which items come next.
_UNBOUND = frozenset(
    {"Limit", "ConsistentRead", "Select", "ReturnConsumedCapacity", "ExclusiveStartKey"}
)

_process_secret: bytes | None = None
_secret_lock = threading.Lock()


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside dynaorm, so the warning names user code."""
    package = os.path.dirname(__file__)
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == package:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def cursor_secret(settings: Settings | None = None) -> bytes:
    """The key that signs cursors.

    Args:
        settings: A table's own settings; unset fields come from :func:`dynaorm.configure`.

    Returns:
        ``cursor_secret`` from the settings, else ``DYNAORM_CURSOR_SECRET``, else a random
        secret made once per process (with a warning).
    """
    global _process_secret
    merged = (settings or Settings()).merged_over(current_settings())
    configured: bytes | str | None = merged.cursor_secret or os.environ.get("DYNAORM_CURSOR_SECRET")
    if configured:
        return configured.encode() if isinstance(configured, str) else bytes(configured)
    with _secret_lock:
        if _process_secret is None:
            _process_secret = secrets.token_bytes(32)
            warnings.warn(
                "dynaorm: no cursor secret configured; cursors are signed with a random "
                "per-process secret and stop working after a restart or in another process. "
                "Set dynaorm.configure(cursor_secret=...) or DYNAORM_CURSOR_SECRET.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )
        return _process_secret


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"cannot encode {type(value).__name__} in a cursor digest")


def request_digest(request: Mapping[str, Any], **binding: Any) -> bytes:
    """The digest a cursor is bound to: the request (less paging members) and ``binding``.

    Example:
        >>> len(request_digest({"TableName": "t", "Limit": 5}, entity="Order"))
        16
    """
    bound = {k: v for k, v in request.items() if k not in _UNBOUND}
    text = json.dumps(
        {"request": bound, "binding": binding},
        sort_keys=True,
        separators=(",", ":"),
        default=_json_default,
    )
    return hashlib.sha256(text.encode()).digest()[:_DIGEST_BYTES]


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def encode_cursor(secret: bytes, digest: bytes, position: Mapping[str, Any]) -> str:
    """Sign ``position`` (an ``ExclusiveStartKey``) for the query with ``digest``.

    Example:
        >>> token = encode_cursor(b"s", b"d" * 16, {"PK": {"S": "A"}})
        >>> decode_cursor(b"s", token, b"d" * 16)
        {'PK': {'S': 'A'}}
    """
    payload = json.dumps(position, sort_keys=True, separators=(",", ":")).encode()
    body = _VERSION + digest + payload
    return base64.urlsafe_b64encode(body + _mac(secret, body)).rstrip(b"=").decode()


def decode_cursor(secret: bytes, token: str, digest: bytes) -> dict[str, Any]:
    """Verify ``token`` and return the position it holds.

    Raises:
        InvalidCursor: The token is malformed, tampered with, signed with another secret, or
            was issued for another query (``digest`` differs).
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidCursor("the cursor is not a dynaorm cursor (malformed)")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not a dynaorm cursor (malformed)") from None
    # Base64 can carry unused bits in its last character; only the canonical spelling counts.
    canonical = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    if canonical != token or len(raw) < 1 + _DIGEST_BYTES + _MAC_BYTES:
        raise InvalidCursor("the cursor is truncated or malformed")
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise InvalidCursor(
            "the cursor's signature does not verify: it was altered, truncated, or signed with "
            "another cursor secret"
        )
    if body[:1] != _VERSION:
        raise InvalidCursor(f"unsupported cursor version {body[0]}")
    if not hmac.compare_digest(body[1 : 1 + _DIGEST_BYTES], digest):
        raise InvalidCursor(
            "the cursor belongs to another query (table, index, entity, partition, range, "
            "filter, projection or direction differ); restart the query without it"
        )
    try:
        position = json.loads(body[1 + _DIGEST_BYTES :])
    except ValueError:
        raise InvalidCursor("the cursor's position is unreadable") from None
    if not isinstance(position, dict) or not all(map(_is_key_value, position.values())):
        raise InvalidCursor("the cursor's position is unreadable")
    return position


def _is_key_value(value: Any) -> bool:
    """A key attribute's typed value as DynamoDB takes it: non-empty, valid text."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, raw),) = value.items()
    if kind not in ("S", "N", "B") or not isinstance(raw, str) or not raw:
        return False
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
