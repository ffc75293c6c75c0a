"""Connection settings: global (:func:`configure`), per table, and from the environment.

Resolution order for each setting: the table's own settings, then the global ones set by
:func:`configure`, then the environment (``DYNAORM_ENDPOINT``, ``DYNAORM_REGION``), then the
standard AWS configuration chain. Nothing here falls back to real AWS on its own: without an
endpoint the standard chain decides, exactly as boto3 would.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import attrs

from dynaorm._errors import ConfigurationError

__all__ = ["Settings", "configure", "current_settings"]

_UNSET: Any = None


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
        connect_timeout: Seconds to wait for a connection (default 5).
        read_timeout: Seconds to wait for the next bytes of a response (default 10); the retry
            policy's ``deadline`` shortens it for an attempt that would outlast the deadline.
        max_pool_connections: HTTP connections kept per client (size it to your thread pools).
        cursor_secret: Secret key that signs pagination cursors.
        parameter_validation: Let botocore validate each request against the API model before
            sending. Off by default: dynaorm builds every request itself (as PynamoDB does), and
            the check costs about a third of the client-side time of a PutItem.
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
    cursor_secret: bytes | None = attrs.field(default=None, repr=False)
    parameter_validation: bool | None = None

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
        region = self.region or os.environ.get("DYNAORM_REGION") or None
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"endpoint_url {endpoint!r} must start with http:// or https://"
            )
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ConfigurationError(
                "set both aws_access_key_id and aws_secret_access_key, or neither"
            )
        for name in ("connect_timeout", "read_timeout", "max_pool_connections"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigurationError(f"{name} must be positive, got {value!r}")
        return attrs.evolve(
            self,
            endpoint_url=endpoint,
            region=region,
            connect_timeout=self.connect_timeout or 5.0,
            read_timeout=self.read_timeout or 10.0,
            max_pool_connections=self.max_pool_connections or 32,
            parameter_validation=bool(self.parameter_validation),
        )


_lock = threading.Lock()
_global = Settings()


def configure(**settings: Any) -> Settings:
    """Change the global connection settings; returns the previous ones.

    Any field of :class:`Settings` may be given; ``None`` clears a field.

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
    if isinstance(settings.get("cursor_secret"), str):
        settings["cursor_secret"] = settings["cursor_secret"].encode()
    with _lock:
        previous = _global
        _global = attrs.evolve(_global, **settings)
    return previous


def current_settings() -> Settings:
    """The global settings as :func:`configure` left them."""
    return _global
