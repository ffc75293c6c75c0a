"""botocore clients: made from settings, cached, and never shared across a fork.

Three rules about clients live here (the transport, :mod:`dynaorm.wire.transport`, sends
through them):

* **Bounded time.** Every client has a ``before-parameter-build`` hook that sets botocore's
  per-request ``read_timeout`` from :data:`attempt_timeout`, which the transport sets for
  each attempt that the retry deadline cuts short.
* **Fork safety.** A process forked after a request must never use the parent's connections:
  after ``fork()`` the child forgets every cached client (``os.register_at_fork``) and
  :func:`client_generation` moves on, so each transport takes a fresh client on its next use.
* **A bounded cache.** Clients are cached per connection settings *without* the secrets: new
  credentials for the same endpoint replace the cached client instead of adding one (so
  rotating session tokens never grows memory nor keeps old secrets), and at most
  :data:`MAX_CACHED_CLIENTS` endpoints are cached, least recently used first out. A given
  botocore/boto3 session counts as credentials: a new session for the same endpoint replaces
  the client (and the reference to the old session) rather than adding one.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import urlparse

import attrs
import botocore.exceptions
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config

from dynaorm.base.errors import ConfigurationError
from dynaorm.base.settings import Settings, botocore_session

__all__ = [
    "MAX_CACHED_CLIENTS",
    "attempt_timeout",
    "cached_client",
    "cached_clients",
    "client_for",
    "client_generation",
    "is_loopback",
]

MAX_CACHED_CLIENTS = 16
"""How many clients (one per endpoint, region, profile and HTTP settings) stay cached."""

# Settings without their secrets -> (the full settings, their client, the retry settings of
# the profile's section of the shared config file: max_attempts, retry_mode).
_clients: OrderedDict[Settings, tuple[Settings, BaseClient, tuple[Any, Any]]] = OrderedDict()
_clients_lock = threading.Lock()
# Bumped in a forked child: a Transport made in an older generation takes a new client.
_generation = 0

# The read timeout of the attempt being sent, when the retry deadline is nearer than the
# connection's read_timeout; read by the hook every client has (same thread, same context).
attempt_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "dynaorm_attempt_timeout", default=None
)

# Local DynamoDB-compatible servers accept any credentials; these are used only for them.
_LOCAL_CREDENTIALS = {"aws_access_key_id": "dynaorm", "aws_secret_access_key": "dynaorm"}


def _forget_clients_after_fork() -> None:
    """In a forked child: drop the parent's clients (their pooled connections are shared with
    the parent) and the lock another thread may have held at the fork."""
    global _generation, _clients_lock
    _generation += 1
    _clients_lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_forget_clients_after_fork)


def client_generation() -> int:
    """How many forks this process descends from (since the cache's clients were made): a
    client taken in an older generation belongs to a parent process and must not be used.

    Example:
        >>> client_generation() >= 0
        True
    """
    return _generation


def is_loopback(endpoint: str) -> bool:
    """True for an endpoint on this machine (``localhost``, ``127.0.0.0/8``, ``::1``).

    Example:
        >>> is_loopback("http://127.0.0.1:8000"), is_loopback("http://dynamo:8000")
        (True, False)
    """
    host = urlparse(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _make_client(settings: Settings) -> tuple[BaseClient, tuple[Any, Any]]:
    try:
        return _make_client_of(settings)
    except botocore.exceptions.ProfileNotFound as exc:
        raise ConfigurationError(f"{exc} (AWS_CONFIG_FILE, AWS_PROFILE or profile=)") from exc


def _make_client_of(settings: Settings) -> tuple[BaseClient, tuple[Any, Any]]:
    if settings.session is not None:
        session = botocore_session(settings.session)
    else:
        session = botocore.session.Session(profile=settings.profile)
    region = settings.region or session.get_config_variable("region")
    if region is None:
        if settings.endpoint_url is None:
            raise ConfigurationError(
                "no AWS region configured: pass region= to dynaorm.configure() or the table, "
                "set DYNAORM_REGION/AWS_REGION, or set DYNAORM_ENDPOINT for a local server"
            )
        region = "us-east-1"
    credentials: dict[str, Any] = {}
    if settings.aws_access_key_id is not None:
        credentials = {
            "aws_access_key_id": settings.aws_access_key_id,
            "aws_secret_access_key": settings.aws_secret_access_key,
            "aws_session_token": settings.aws_session_token,
        }
    elif (
        settings.endpoint_url is not None
        and is_loopback(settings.endpoint_url)
        and session.get_credentials() is None
    ):
        credentials = dict(_LOCAL_CREDENTIALS)
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_pool_connections=settings.max_pool_connections,
        parameter_validation=bool(settings.parameter_validation),
        # dynaorm retries under its own policy, so it can count and log every retry.
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    client = session.create_client(
        "dynamodb",
        region_name=region,
        endpoint_url=settings.endpoint_url,
        config=config,
        **credentials,
    )
    client.meta.events.register(
        "before-parameter-build.dynamodb",
        _limit_read_timeout,
        unique_id="dynaorm-attempt-timeout",
    )
    scoped = session.get_scoped_config()
    return client, (scoped.get("max_attempts"), scoped.get("retry_mode"))


def _limit_read_timeout(context: dict[str, Any], **_: Any) -> None:
    """botocore hook: wait for this attempt's response no longer than the deadline allows."""
    timeout = attempt_timeout.get()
    if timeout is not None:
        context["read_timeout"] = timeout


def _without_secrets(settings: Settings) -> Settings:
    return attrs.evolve(
        settings,
        aws_access_key_id=None,
        aws_secret_access_key=None,
        aws_session_token=None,
        cursor_secret=None,
        session=None,
    )


def cached_client(settings: Settings) -> tuple[BaseClient, tuple[Any, Any]]:
    """The cached client for ``settings`` and its shared-config retry settings (one client
    for both transports: the lean one sends through the botocore client's pool)."""
    if settings.transport is not None:
        settings = attrs.evolve(settings, transport=None)
    key = _without_secrets(settings)
    with _clients_lock:
        entry = _clients.get(key)
        if entry is not None and entry[0] == settings:
            _clients.move_to_end(key)
            return entry[1], entry[2]
        client, retry_config = _make_client(settings)
        _clients[key] = (settings, client, retry_config)
        _clients.move_to_end(key)
        while len(_clients) > MAX_CACHED_CLIENTS:
            _clients.popitem(last=False)
        return client, retry_config


def client_for(settings: Settings) -> BaseClient:
    """The shared botocore client for fully resolved ``settings`` (created on first use).

    Settings that differ only in credentials (keys, or the session they come from) share one
    cache slot: a client made for new credentials replaces the one for the old, which lives
    on only while a :class:`Transport` still holds it.
    """
    return cached_client(settings)[0]


def cached_clients() -> int:
    """How many botocore clients the cache holds (at most :data:`MAX_CACHED_CLIENTS`)."""
    return len(_clients)
