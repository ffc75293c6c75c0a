"""Tokens: opaque, URL-safe, signed or encrypted carriers of a cursor's or a checkpoint's body.

A token is ``base64url(format | key id | sealed part)`` without padding:

* ``format``: one byte: ``0x20`` a signed cursor, ``0x21`` an encrypted cursor, ``0x22`` and
  ``0x23`` the same for scan checkpoints;
* ``key id``: 4 bytes derived from the secret that made the token, so verification tries only
  that secret (secrets rotate: the newest signs, every configured one verifies);
* signed: ``issued | digest | body | mac``: the issue time (4 bytes, seconds since the epoch),
  the 16-byte digest of the request the token continues (less what does not move the
  position: ``Limit``, ``ConsistentRead``, ``Select``, ``ReturnConsumedCapacity``), the body
  (a cursor's position: each key attribute's name, type and value), and 16 bytes of
  HMAC-SHA256 over everything before it;
* encrypted: ``nonce | AES-256-GCM(issued | digest | body)`` with the format and key id as
  associated data: 12 bytes of nonce, the ciphertext, a 16-byte tag. The nonce is an HMAC of
  the plaintext under a key of its own (a synthetic IV), so no nonce ever serves two
  different plaintexts, however many tokens are made.

Each secret yields four independent keys by HKDF-SHA256 (key id, signing, encryption, nonce),
so no key serves two purposes. A token that does not decode, whose MAC or tag does not verify
(tampered, truncated, made with a secret not configured here), whose digest is another query's,
or that is older than ``max_age`` raises :class:`~dynaorm.InvalidCursor`.

Where the secrets come from: :mod:`dynaorm.read.cursor_secrets`; the bodies:
:mod:`dynaorm.read.positions`; cursors: :mod:`dynaorm.read.cursor`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Callable
from typing import Any

import attrs

from dynaorm.base.errors import ConfigurationError, InvalidCursor

__all__ = ["CHECKPOINT", "CURSOR", "DIGEST_BYTES", "CursorKeys", "open_token", "seal_token"]

CURSOR = 0x20
CHECKPOINT = 0x22
_ENCRYPTED = 0x01
_FORMATS = frozenset({CURSOR, CURSOR | _ENCRYPTED, CHECKPOINT, CHECKPOINT | _ENCRYPTED})
_KEY_ID_BYTES = 4
_ISSUED_BYTES = 4
DIGEST_BYTES = 16
_MAC_BYTES = 16
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER_BYTES = 1 + _KEY_ID_BYTES
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# Issue times a little ahead of this clock are another server's clock skew, not forgeries.
_CLOCK_SKEW = 60.0
_CRYPTO_MISSING = "encrypted cursors need the 'cryptography' package: pip install 'dynaorm[crypto]'"


# -- keys ------------------------------------------------------------------------------------


@attrs.frozen
class _Key:
    """The keys one secret yields."""

    key_id: bytes
    sign: bytes = attrs.field(repr=False)
    encrypt: bytes = attrs.field(repr=False)
    nonce: bytes = attrs.field(repr=False)


def _hkdf(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) with a fixed salt, one 32-byte block."""
    prk = hmac.new(b"dynaorm cursor keys v2", secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@functools.lru_cache(maxsize=64)
def _derive(secret: bytes) -> _Key:
    return _Key(
        key_id=_hkdf(secret, b"key id")[:_KEY_ID_BYTES],
        sign=_hkdf(secret, b"sign"),
        encrypt=_hkdf(secret, b"encrypt"),
        nonce=_hkdf(secret, b"nonce"),
    )


def _aead(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise ConfigurationError(_CRYPTO_MISSING) from None
    return AESGCM(key)


@attrs.frozen
class CursorKeys:
    """Everything that makes and checks tokens for one table, resolved from its settings.

    Attributes:
        secrets: The secrets, newest first: the first makes tokens, all verify them.
        encrypt: Make encrypted tokens (every configured secret still verifies both kinds).
        max_age: Seconds after which a cursor is refused as expired (``None``: never).
        clock: Seconds since the epoch, for issue and expiry times.
        ephemeral: The secret is this process's random one (no secret configured, local
            endpoint): refusals then say so.

    Example:
        >>> from dynaorm.read.cursor import decode_cursor, encode_cursor
        >>> keys = CursorKeys((b"new", b"old"))
        >>> token = encode_cursor(CursorKeys((b"old",)), b"d" * 16, {"PK": {"S": "A"}})
        >>> decode_cursor(keys, token, b"d" * 16)
        {'PK': {'S': 'A'}}
    """

    secrets: tuple[bytes, ...] = attrs.field(repr=False)
    encrypt: bool = False
    max_age: float | None = None
    clock: Callable[[], float] = time.time
    ephemeral: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.secrets or not all(isinstance(s, bytes) and s for s in self.secrets):
            raise ConfigurationError("cursor secrets must be non-empty bytes")
        if self.encrypt:
            _aead(bytes(32))  # ConfigurationError now, not when the first token is made

    @functools.cached_property
    def _keys(self) -> tuple[_Key, ...]:
        return tuple(_derive(s) for s in self.secrets)

    def _candidates(self, key_id: bytes) -> list[_Key]:
        return [k for k in self._keys if hmac.compare_digest(k.key_id, key_id)]


def _as_keys(keys: CursorKeys | bytes) -> CursorKeys:
    return keys if isinstance(keys, CursorKeys) else CursorKeys((bytes(keys),))


# -- tokens ----------------------------------------------------------------------------------


def _pack(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def seal_token(keys: CursorKeys | bytes, kind: int, digest: bytes, body: bytes) -> str:
    """Make a token of ``kind`` (:data:`CURSOR` or :data:`CHECKPOINT`) holding ``body``,
    bound to ``digest``, signed (or encrypted, when ``keys.encrypt``) with the newest key.

    Example:
        >>> token = seal_token(b"s", CURSOR, b"d" * 16, b"body")
        >>> open_token(b"s", CURSOR, token, b"d" * 16)
        b'body'
    """
    keys = _as_keys(keys)
    if len(digest) != DIGEST_BYTES:
        raise ValueError(f"a digest has {DIGEST_BYTES} bytes")
    key = keys._keys[0]
    issued = max(0, min(int(keys.clock()), 2**32 - 1))
    plaintext = struct.pack(">I", issued) + digest + body
    if keys.encrypt:
        header = bytes([kind | _ENCRYPTED]) + key.key_id
        nonce = hmac.new(key.nonce, header + plaintext, hashlib.sha256).digest()[:_NONCE_BYTES]
        return _pack(header + nonce + _aead(key.encrypt).encrypt(nonce, plaintext, header))
    signed = bytes([kind]) + key.key_id + plaintext
    return _pack(signed + hmac.new(key.sign, signed, hashlib.sha256).digest()[:_MAC_BYTES])


def _unpack(token: object, what: str) -> bytes:
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        if isinstance(token, str) and token.lstrip().startswith("{"):
            raise InvalidCursor(
                f"the {what} is an unsigned one of an older dynaorm version, no longer "
                "accepted; start again without it"
            )
        raise InvalidCursor(f"the {what} is not a dynaorm {what} (malformed)")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor(f"the {what} is not a dynaorm {what} (malformed)") from None
    # Base64 can carry unused bits in its last character; only the canonical spelling counts.
    if _pack(raw) != token:
        raise InvalidCursor(f"the {what} is truncated or malformed")
    return raw


def _not_verified(keys: CursorKeys, what: str, known_key: bool) -> InvalidCursor:
    if known_key:
        reason = "it was altered or truncated"
    else:
        reason = (
            "it was made with a secret that is not configured here (retired, or another service's)"
        )
        if keys.ephemeral:
            reason += (
                "; no cursor secret is configured, so this process signs with its own random "
                "secret and refuses tokens of other processes and earlier runs (configure "
                "cursor_secrets to share them)"
            )
    return InvalidCursor(f"the {what}'s signature does not verify: {reason}")


def _verify(keys: CursorKeys, kind: int, raw: bytes, what: str) -> bytes:
    """The plaintext (``issued | digest | body``) of a verified token."""
    fmt = raw[0] if raw else -1
    if fmt not in _FORMATS or fmt & ~_ENCRYPTED != kind:
        if fmt == 1:
            raise InvalidCursor(
                f"the {what} was made by an older dynaorm version (format 1), no longer "
                "accepted; start again without it"
            )
        raise InvalidCursor(f"the {what} is not a dynaorm {what} (unknown format)")
    header, rest = raw[:_HEADER_BYTES], raw[_HEADER_BYTES:]
    if len(header) < _HEADER_BYTES:
        raise InvalidCursor(f"the {what} is truncated or malformed")
    candidates = keys._candidates(header[1:])
    if fmt & _ENCRYPTED:
        if len(rest) < _NONCE_BYTES + _ISSUED_BYTES + DIGEST_BYTES + _TAG_BYTES:
            raise InvalidCursor(f"the {what} is truncated or malformed")
        try:
            from cryptography.exceptions import InvalidTag
        except ImportError:
            raise InvalidCursor(f"the {what} is encrypted: {_CRYPTO_MISSING}") from None
        nonce, sealed = rest[:_NONCE_BYTES], rest[_NONCE_BYTES:]
        for key in candidates:
            try:
                plaintext: bytes = _aead(key.encrypt).decrypt(nonce, sealed, header)
            except InvalidTag:
                continue
            return plaintext
    else:
        if len(rest) < _ISSUED_BYTES + DIGEST_BYTES + _MAC_BYTES:
            raise InvalidCursor(f"the {what} is truncated or malformed")
        signed, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        for key in candidates:
            expected = hmac.new(key.sign, signed, hashlib.sha256).digest()[:_MAC_BYTES]
            if hmac.compare_digest(mac, expected):
                return rest[:-_MAC_BYTES]
    raise _not_verified(keys, what, bool(candidates))


def open_token(
    keys: CursorKeys | bytes,
    kind: int,
    token: object,
    digest: bytes | None,
    *,
    max_age: float | None = None,
    what: str = "cursor",
) -> bytes:
    """Verify a token of ``kind`` and return its body.

    Args:
        keys: The keys to verify with.
        kind: :data:`CURSOR` or :data:`CHECKPOINT`.
        token: The token text.
        digest: What the token must be bound to; ``None``: return ``digest + body`` for the
            caller to check.
        max_age: Seconds after which the token is expired (else ``keys.max_age``).
        what: Names the token in error messages.

    Raises:
        InvalidCursor: Malformed, tampered with, made with a secret not configured here,
            bound to another digest, or expired.
    """
    keys = _as_keys(keys)
    plaintext = _verify(keys, kind, _unpack(token, what), what)
    (issued,) = struct.unpack(">I", plaintext[:_ISSUED_BYTES])
    limit = keys.max_age if max_age is None else max_age
    if limit is not None:
        now = keys.clock()
        if issued > now + _CLOCK_SKEW:
            raise InvalidCursor(
                f"the {what} was issued {issued - now:.0f} s in the future (do the clocks of "
                "your servers agree?)"
            )
        if now - issued > limit:
            raise InvalidCursor(
                f"the {what} expired: issued {now - issued:.0f} s ago, and {what}s are "
                f"accepted for {limit:g} s; start again without it"
            )
    rest = plaintext[_ISSUED_BYTES:]
    if digest is None:
        return rest
    if not hmac.compare_digest(rest[:DIGEST_BYTES], digest):
        raise InvalidCursor(
            f"the {what} belongs to another query (table, index, entity, partition, range, "
            "filter, projection, direction or segments differ); start again without it"
        )
    return rest[DIGEST_BYTES:]
