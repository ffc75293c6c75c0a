"""Pagination cursors: a query's position after its last item, sealed in a token bound to
the query's digest.

A cursor is a token (:mod:`dynaorm.read.tokens`) whose body is one position
(:mod:`dynaorm.read.positions`) and whose digest is the query's request less the members
that do not move the position (:func:`request_digest`), so it resumes only the query it was
taken from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from dynaorm.base.typed_json import to_json
from dynaorm.read.positions import decode_position, encode_position
from dynaorm.read.tokens import CURSOR, DIGEST_BYTES, CursorKeys, open_token, seal_token

__all__ = ["decode_cursor", "encode_cursor", "request_digest"]

# Request members that do not change which items come next.
_UNBOUND = frozenset(
    {"Limit", "ConsistentRead", "Select", "ReturnConsumedCapacity", "ExclusiveStartKey"}
)


def request_digest(request: Mapping[str, Any], **binding: Any) -> bytes:
    """The digest a cursor is bound to: the request (less paging members) and ``binding``.

    Example:
        >>> len(request_digest({"TableName": "t", "Limit": 5}, entity="Order"))
        16
    """
    bound = {k: v for k, v in request.items() if k not in _UNBOUND}
    text = to_json({"request": bound, "binding": binding}, sort_keys=True, compact=True)
    return hashlib.sha256(text.encode()).digest()[:DIGEST_BYTES]


def encode_cursor(keys: CursorKeys | bytes, digest: bytes, position: Mapping[str, Any]) -> str:
    """Sign (or encrypt) ``position`` (an ``ExclusiveStartKey``) for the query with ``digest``.

    Example:
        >>> token = encode_cursor(b"s", b"d" * 16, {"PK": {"S": "A"}})
        >>> decode_cursor(b"s", token, b"d" * 16)
        {'PK': {'S': 'A'}}
    """
    return seal_token(keys, CURSOR, digest, encode_position(position))


def decode_cursor(
    keys: CursorKeys | bytes, token: object, digest: bytes, *, max_age: float | None = None
) -> dict[str, Any]:
    """Verify ``token`` and return the position it holds.

    Args:
        keys: The keys (or one secret) to verify with.
        token: The cursor.
        digest: The digest of the query it must belong to.
        max_age: Seconds after which it is expired (else ``keys.max_age``).

    Raises:
        InvalidCursor: The token is malformed, tampered with, made with a secret not
            configured, issued for another query (``digest`` differs), or expired.
    """
    return decode_position(open_token(keys, CURSOR, token, digest, max_age=max_age))
