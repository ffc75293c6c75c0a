"""Pagination cursors and scan checkpoints: opaque, URL-safe tokens, signed or encrypted.

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

Secrets come from the table's settings, then :func:`dynaorm.configure`, then
``DYNAORM_CURSOR_SECRETS`` (comma-separated, newest first) or ``DYNAORM_CURSOR_SECRET``. With
none, a table on a local endpoint (loopback, or the embedded server of this process) uses a
random secret made once per process; any other endpoint raises
:class:`~dynaorm.ConfigurationError`, since a per-process secret breaks every cursor that
reaches another process of the service.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import secrets
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from dynaorm.base.errors import ConfigurationError, InvalidCursor, ValidationError
from dynaorm.base.settings import Settings, current_settings
from dynaorm.base.typed_json import to_json
from dynaorm.wire.transport import _is_loopback

__all__ = [
    "CursorKeys",
    "cursor_keys",
    "cursor_secret",
    "cursor_secrets",
    "decode_cursor",
    "decode_position",
    "encode_cursor",
    "encode_position",
    "is_local_endpoint",
    "mark_local_endpoint",
    "open_token",
    "request_digest",
    "seal_token",
]

CURSOR = 0x20
CHECKPOINT = 0x22
_ENCRYPTED = 0x01
_FORMATS = frozenset({CURSOR, CURSOR | _ENCRYPTED, CHECKPOINT, CHECKPOINT | _ENCRYPTED})
_KEY_ID_BYTES = 4
_ISSUED_BYTES = 4
_DIGEST_BYTES = 16
_MAC_BYTES = 16
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER_BYTES = 1 + _KEY_ID_BYTES
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# Issue times a little ahead of this clock are another server's clock skew, not forgeries.
_CLOCK_SKEW = 60.0
_CRYPTO_MISSING = "encrypted cursors need the 'cryptography' package: pip install 'dynaorm[crypto]'"
# Request members that do not change which items come next.
_UNBOUND = frozenset(
    {"Limit", "ConsistentRead", "Select", "ReturnConsumedCapacity", "ExclusiveStartKey"}
)

_process_secret: bytes | None = None
_secret_lock = threading.Lock()
_local_endpoints: set[str] = set()


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


def mark_local_endpoint(endpoint: str, *, local: bool = True) -> None:
    """Count ``endpoint`` as local (the embedded server of this process) or no longer."""
    with _secret_lock:
        if local:
            _local_endpoints.add(endpoint)
        else:
            _local_endpoints.discard(endpoint)


def is_local_endpoint(endpoint: str | None) -> bool:
    """True for loopback endpoints (``localhost``, ``127.0.0.0/8``, ``::1``) and the embedded
    servers of this process; false for AWS (``None``) and every other host.

    Example:
        >>> is_local_endpoint("http://127.0.0.1:8000"), is_local_endpoint("http://dynamo:8000")
        (True, False)
    """
    if endpoint is None:
        return False
    return endpoint in _local_endpoints or _is_loopback(endpoint)


def _level_secrets(settings: Settings, where: str) -> tuple[bytes, ...] | None:
    if settings.cursor_secrets is not None and settings.cursor_secret is not None:
        raise ConfigurationError(
            f"{where}: set cursor_secrets or cursor_secret, not both (configure() with one "
            "of them replaces the other)"
        )
    if settings.cursor_secrets is not None:
        return settings.cursor_secrets
    return (settings.cursor_secret,) if settings.cursor_secret else None


def _environment_secrets() -> tuple[bytes, ...] | None:
    many = os.environ.get("DYNAORM_CURSOR_SECRETS") or None
    one = os.environ.get("DYNAORM_CURSOR_SECRET") or None
    if many and one:
        raise ConfigurationError(
            "set DYNAORM_CURSOR_SECRETS or DYNAORM_CURSOR_SECRET in the environment, not both"
        )
    if many:
        try:
            return Settings(cursor_secrets=many).cursor_secrets
        except ConfigurationError as exc:
            raise ConfigurationError(f"DYNAORM_CURSOR_SECRETS: {exc}") from None
    return (one.encode(),) if one else None


def _environment_flag(name: str) -> bool | None:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {text!r}")


def _environment_seconds(name: str) -> float | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return Settings(cursor_max_age=float(text)).cursor_max_age
    except (ValueError, ConfigurationError):
        raise ConfigurationError(
            f"{name} must be a positive number of seconds, got {text!r}"
        ) from None


def _random_secret() -> bytes:
    global _process_secret
    with _secret_lock:
        if _process_secret is None:
            _process_secret = secrets.token_bytes(32)
        return _process_secret


def cursor_keys(settings: Settings | None = None) -> CursorKeys:
    """The keys and rules of cursors for a table with ``settings``.

    Args:
        settings: A table's own settings; unset fields come from :func:`dynaorm.configure`,
            then the environment.

    Returns:
        The resolved secrets (``cursor_secrets`` or ``cursor_secret`` of the table, then of
        :func:`dynaorm.configure`, then ``DYNAORM_CURSOR_SECRETS`` or
        ``DYNAORM_CURSOR_SECRET``; a random per-process secret for a local endpoint),
        encryption, maximum age and clock.

    Raises:
        ConfigurationError: No secret is configured and the endpoint is not local; both
            forms of the secrets are set at one level; encryption is asked for without the
            ``crypto`` extra.

    Example:
        >>> cursor_keys(Settings(cursor_secrets=["new", "old"])).secrets[0]
        b'new'
    """
    own = settings or Settings()
    shared = current_settings()
    found = (
        _level_secrets(own, "the table's settings")
        or _level_secrets(shared, "dynaorm.configure()")
        or _environment_secrets()
    )
    merged = own.merged_over(shared)
    encrypt = merged.encrypt_cursors
    if encrypt is None:
        encrypt = _environment_flag("DYNAORM_ENCRYPT_CURSORS")
    max_age = merged.cursor_max_age
    if max_age is None:
        max_age = _environment_seconds("DYNAORM_CURSOR_MAX_AGE")
    ephemeral = False
    if not found:
        endpoint = merged.endpoint_url or os.environ.get("DYNAORM_ENDPOINT") or None
        if not is_local_endpoint(endpoint):
            where = f"endpoint {endpoint}" if endpoint else "AWS DynamoDB (no endpoint_url)"
            raise ConfigurationError(
                f"no cursor secret is configured for {where}, which is not a local endpoint: "
                "cursors and scan checkpoints must verify in every process of the service, so "
                "dynaorm does not sign them with a random per-process secret. Set one shared "
                "secret, e.g. the output of "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))', as "
                "DYNAORM_CURSOR_SECRETS=<new>[,<old>...] in every process, or "
                "dynaorm.configure(cursor_secrets=[...]) from your secret store"
            )
        found = (_random_secret(),)
        ephemeral = True
    return CursorKeys(
        found,
        encrypt=bool(encrypt),
        max_age=max_age,
        clock=merged.cursor_clock or time.time,
        ephemeral=ephemeral,
    )


def cursor_secrets(settings: Settings | None = None) -> tuple[bytes, ...]:
    """The secrets that verify cursors, newest (the one that signs) first.

    Raises:
        ConfigurationError: As :func:`cursor_keys`.
    """
    return cursor_keys(settings).secrets


def cursor_secret(settings: Settings | None = None) -> bytes:
    """The secret that signs new cursors (the newest of :func:`cursor_secrets`).

    Raises:
        ConfigurationError: As :func:`cursor_keys`.
    """
    return cursor_secrets(settings)[0]


# -- digests ---------------------------------------------------------------------------------


def request_digest(request: Mapping[str, Any], **binding: Any) -> bytes:
    """The digest a cursor is bound to: the request (less paging members) and ``binding``.

    Example:
        >>> len(request_digest({"TableName": "t", "Limit": 5}, entity="Order"))
        16
    """
    bound = {k: v for k, v in request.items() if k not in _UNBOUND}
    text = to_json({"request": bound, "binding": binding}, sort_keys=True, compact=True)
    return hashlib.sha256(text.encode()).digest()[:_DIGEST_BYTES]


# -- positions -------------------------------------------------------------------------------


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
    if len(digest) != _DIGEST_BYTES:
        raise ValueError(f"a digest has {_DIGEST_BYTES} bytes")
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
        if len(rest) < _NONCE_BYTES + _ISSUED_BYTES + _DIGEST_BYTES + _TAG_BYTES:
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
        if len(rest) < _ISSUED_BYTES + _DIGEST_BYTES + _MAC_BYTES:
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
    if not hmac.compare_digest(rest[:_DIGEST_BYTES], digest):
        raise InvalidCursor(
            f"the {what} belongs to another query (table, index, entity, partition, range, "
            "filter, projection, direction or segments differ); start again without it"
        )
    return rest[_DIGEST_BYTES:]


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
