"""Where the secrets of cursors and scan checkpoints come from, and the keys a table uses.

Secrets come from the table's settings, then :func:`dynaorm.configure`, then
``DYNAORM_CURSOR_SECRETS`` (comma-separated, newest first) or ``DYNAORM_CURSOR_SECRET``. With
none, a table on a local endpoint (loopback, or the embedded server of this process) uses a
random secret made once per process; any other endpoint raises
:class:`~dynaorm.ConfigurationError`, since a per-process secret breaks every cursor that
reaches another process of the service.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

from dynaorm.base.errors import ConfigurationError
from dynaorm.base.settings import Settings, current_settings
from dynaorm.read.tokens import CursorKeys
from dynaorm.wire.clients import is_loopback

__all__ = [
    "cursor_keys",
    "cursor_secret",
    "cursor_secrets",
    "is_local_endpoint",
    "mark_local_endpoint",
]

_process_secret: bytes | None = None
_secret_lock = threading.Lock()
_local_endpoints: set[str] = set()


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
    return endpoint in _local_endpoints or is_loopback(endpoint)


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
