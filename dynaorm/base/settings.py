"""Connection settings: global (:func:`configure`), per table, and from the environment.

Resolution order for each setting: the table's own settings, then the global ones set by
:func:`configure`, then the environment (``DYNAORM_ENDPOINT``; ``DYNAORM_REGION``, then
``AWS_REGION``, then ``AWS_DEFAULT_REGION``), then the standard AWS configuration chain (a
given botocore/boto3 session's, or a new one's). Nothing here falls back to real AWS on its
own: without an endpoint the standard chain decides, exactly as boto3 would.
"""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from dynaorm.base.errors import ConfigurationError

__all__ = [
    "Settings",
    "botocore_session",
    "configure",
    "current_settings",
    "environment_inputs",
    "replacing_secrets",
]

_UNSET: Any = None


def _secret(value: str | bytes | None) -> bytes | None:
    """A cursor secret as bytes (text is UTF-8 encoded)."""
    return value.encode() if isinstance(value, str) else value


def _secrets(value: str | bytes | Iterable[str | bytes] | None) -> tuple[bytes, ...] | None:
    """Cursor secrets as a tuple of bytes, newest first; text is split at commas."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        text = value.decode() if isinstance(value, bytes) else value
        value = [part.strip() for part in text.split(",")]
    result = tuple(v.encode() if isinstance(v, str) else bytes(v) for v in value)
    if not all(result):
        raise ConfigurationError("cursor_secrets holds an empty secret")
    return result


def _seconds(value: float | datetime.timedelta | None) -> float | None:
    """A duration in seconds (a ``timedelta`` is converted)."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise ConfigurationError(f"cursor_max_age must be a positive duration, got {value!r}")
    return None if value is None else float(value)


# The environment variables that change how a table's requests are sent (see Table.transport).
ENVIRONMENT_INPUTS = (
    "DYNAORM_ENDPOINT",
    "DYNAORM_REGION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_PROFILE",
    "DYNAORM_TRANSPORT",
)

TRANSPORTS = ("lean", "botocore")
"""The values of :attr:`Settings.transport`."""
DEFAULT_TRANSPORT = "lean"
_encode = getattr(os.environ, "encodekey", None)
_ENCODED_INPUTS = tuple(map(_encode, ENVIRONMENT_INPUTS)) if _encode else ENVIRONMENT_INPUTS


def environment_inputs() -> tuple[object, ...]:
    """The values of :data:`ENVIRONMENT_INPUTS` (raw, for comparison only), read on every
    request: through ``os.environ``'s own dict, five times faster than ``os.environ.get``."""
    data = getattr(os.environ, "_data", None)
    if type(data) is dict:
        return tuple(map(data.get, _ENCODED_INPUTS))
    return tuple(map(os.environ.get, ENVIRONMENT_INPUTS))


def botocore_session(session: Any) -> Any:
    """The botocore session behind ``session``: a ``botocore.session.Session`` itself, or the
    one a ``boto3.Session`` wraps.

    Raises:
        ConfigurationError: ``session`` is neither.
    """
    inner = getattr(session, "_session", session)  # boto3.Session wraps a botocore session
    if not (callable(getattr(inner, "create_client", None)) and hasattr(inner, "get_credentials")):
        raise ConfigurationError(
            f"session must be a boto3.Session or a botocore session, got {type(session).__name__}"
        )
    return inner


def _session_region(session: Any) -> str | None:
    """The region set on the session object itself (``boto3.Session(region_name=...)``), not
    one it would find in the environment or its configuration files."""
    region = botocore_session(session).instance_variables().get("region")
    return str(region) if region else None


@attrs.frozen
class Settings:
    """How to reach DynamoDB. Every field left ``None`` is resolved further down the chain.

    Attributes:
        endpoint_url: Any DynamoDB-compatible endpoint (``http://127.0.0.1:8000``).
        region: AWS region name.
        aws_access_key_id: Explicit credentials (otherwise the standard AWS chain).
        aws_secret_access_key: Explicit credentials.
        aws_session_token: Explicit credentials.
        profile: A named profile of the AWS configuration files.
        session: An existing ``boto3.Session`` or botocore session: its credentials (refreshed
            by it), its region and its profile's configuration are used. Excludes ``profile``;
            explicit keys above still win over its credentials, ``region`` over its region.
        connect_timeout: Seconds to wait for a connection (default 5).
        read_timeout: Seconds to wait for the next bytes of a response (default 10); the retry
            policy's ``deadline`` shortens it for an attempt that would outlast the deadline.
        max_pool_connections: HTTP connections kept per client (size it to your thread pools).
        cursor_secret: Secret key that signs pagination cursors (text or bytes); the same as
            ``cursor_secrets=[secret]``.
        cursor_secrets: Several secrets, newest first: the first signs new cursors, every
            one verifies (key rotation). Text is split at commas, like
            ``DYNAORM_CURSOR_SECRETS``.
        encrypt_cursors: Encrypt cursors and scan checkpoints (AES-256-GCM; needs the
            ``crypto`` extra) so they reveal nothing of the keys they hold.
        cursor_max_age: Seconds (or a ``timedelta``) after which a cursor is refused as
            expired; ``None``: cursors do not expire.
        cursor_clock: The time source of cursor issue and expiry times (seconds since the
            epoch, like ``time.time``); for tests.
        parameter_validation: Let botocore validate each request against the API model before
            sending. Off by default: dynaorm builds every request itself (as PynamoDB does), and
            the check costs about a third of the client-side time of a PutItem.
        transport: How data-plane requests (item reads and writes, queries, scans, batches,
            transactions) are sent: ``"lean"`` (the default: dynaorm's own JSON encoding and
            parsing, signed and sent with botocore's signer, credentials, endpoint and
            connection pool) or ``"botocore"`` (the botocore client). Also
            ``DYNAORM_TRANSPORT``.
            Control-plane requests always go through botocore.
    """

    endpoint_url: str | None = None
    region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = attrs.field(default=None, repr=False)
    aws_session_token: str | None = attrs.field(default=None, repr=False)
    profile: str | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    max_pool_connections: int | None = None
    cursor_secret: bytes | None = attrs.field(default=None, repr=False, converter=_secret)
    parameter_validation: bool | None = None
    cursor_secrets: tuple[bytes, ...] | None = attrs.field(
        default=None, repr=False, converter=_secrets
    )
    encrypt_cursors: bool | None = None
    cursor_max_age: float | None = attrs.field(default=None, converter=_seconds)
    cursor_clock: Callable[[], float] | None = attrs.field(default=None, repr=False)
    session: Any = attrs.field(default=None, repr=False)
    transport: str | None = None

    def merged_over(self, base: Settings) -> Settings:
        """These settings, with every unset field taken from ``base``."""
        changes = {
            field.name: getattr(base, field.name)
            for field in attrs.fields(Settings)
            if getattr(self, field.name) is None
        }
        return attrs.evolve(self, **changes)

    def resolved(self) -> Settings:
        """Fill the remaining gaps from the environment and defaults.

        Raises:
            ConfigurationError: Half of an access-key pair is set, or a value is invalid.
        """
        endpoint = self.endpoint_url or os.environ.get("DYNAORM_ENDPOINT") or None
        profile = self.profile
        if profile is None and self.session is None:
            profile = os.environ.get("AWS_PROFILE") or None
        if self.session is not None and profile is not None:
            raise ConfigurationError(
                "set a session or a profile, not both (a session carries its own profile)"
            )
        # The region: this setting, the session's own, DYNAORM_REGION, AWS_REGION,
        # AWS_DEFAULT_REGION; then the profile's region in the shared config file (the client).
        region = (
            self.region
            or (None if self.session is None else _session_region(self.session))
            or os.environ.get("DYNAORM_REGION")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or None
        )
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"endpoint_url {endpoint!r} must start with http:// or https://"
            )
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ConfigurationError(
                "set both aws_access_key_id and aws_secret_access_key, or neither"
            )
        transport = self.transport or os.environ.get("DYNAORM_TRANSPORT") or DEFAULT_TRANSPORT
        if transport not in TRANSPORTS:
            raise ConfigurationError(
                f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}"
            )
        for name in ("connect_timeout", "read_timeout", "max_pool_connections"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigurationError(f"{name} must be positive, got {value!r}")
        return attrs.evolve(
            self,
            endpoint_url=endpoint,
            region=region,
            profile=profile,
            connect_timeout=self.connect_timeout or 5.0,
            read_timeout=self.read_timeout or 10.0,
            max_pool_connections=self.max_pool_connections or 32,
            parameter_validation=bool(self.parameter_validation),
            transport=transport,
        )


_lock = threading.Lock()
_global = Settings()


def configure(**settings: Any) -> Settings:
    """Change the global connection settings; returns the previous ones.

    Any field of :class:`Settings` may be given; ``None`` clears a field. Giving
    ``cursor_secret`` or ``cursor_secrets`` alone replaces whichever of the two was set.

    Example:
        >>> previous = configure(endpoint_url="http://127.0.0.1:8000", region="eu-west-1")
        >>> _ = configure(**attrs.asdict(previous))

    Raises:
        ConfigurationError: An unknown setting was given.
    """
    global _global
    known = {field.name for field in attrs.fields(Settings)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    with _lock:
        previous = _global
        _global = attrs.evolve(_global, **replacing_secrets(settings))
    return previous


def replacing_secrets(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` where giving one of ``cursor_secret``/``cursor_secrets`` clears the other."""
    for given, other in (("cursor_secret", "cursor_secrets"), ("cursor_secrets", "cursor_secret")):
        if given in settings and other not in settings:
            return {**settings, other: None}
    return settings


def current_settings() -> Settings:
    """The global settings as :func:`configure` left them."""
    return _global
