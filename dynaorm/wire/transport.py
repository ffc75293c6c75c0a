"""Sending requests: botocore clients, retries under the policy, and error translation.

Three rules about clients live here:

* **Bounded time.** The retry policy's deadline bounds the whole call: an attempt that would
  outlast it waits for its response only until the deadline (botocore's per-request
  ``read_timeout``, set from a ``before-parameter-build`` hook), so a server that accepts
  connections and never answers costs at most ``deadline + connect_timeout``.
* **Fork safety.** A process forked after a request must never use the parent's connections:
  after ``fork()`` the child forgets every cached client (``os.register_at_fork``), and each
  :class:`Transport` takes a fresh client on its next use.
* **A bounded cache.** Clients are cached per connection settings *without* the secrets: new
  credentials for the same endpoint replace the cached client instead of adding one (so
  rotating session tokens never grows memory nor keeps old secrets), and at most
  :data:`MAX_CACHED_CLIENTS` endpoints are cached, least recently used first out. A given
  botocore/boto3 session counts as credentials: a new session for the same endpoint replaces
  the client (and the reference to the old session) rather than adding one.

Each request is logged at DEBUG on the ``dynaorm`` logger (operation, table, index, duration,
consumed capacity, retries); with DEBUG off that costs one ``isEnabledFor`` check per call.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlparse

import attrs
import botocore.exceptions
import botocore.session
from botocore import xform_name
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from dynaorm.base.errors import ConfigurationError
from dynaorm.base.settings import Settings, botocore_session
from dynaorm.wire.retry import LEAST_ATTEMPT_TIME, Retrier, RetryPolicy, policy_from_aws
from dynaorm.wire.translate import THROTTLING_CODES, error_code, is_retryable, table_of, translate

__all__ = ["MAX_CACHED_CLIENTS", "Transport", "cached_clients", "client_for"]

logger = logging.getLogger("dynaorm")
_DEBUG = logging.DEBUG

# The connection was never made, so the request never reached the server: any request, even
# a conditional write, may be sent again.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)

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
_attempt_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
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


def _is_loopback(endpoint: str) -> bool:
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
        and _is_loopback(settings.endpoint_url)
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
    timeout = _attempt_timeout.get()
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


def _cached(settings: Settings) -> tuple[BaseClient, tuple[Any, Any]]:
    """The cached client for ``settings`` and its shared-config retry settings."""
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
    return _cached(settings)[0]


def aws_retry_policy(shared_config: tuple[Any, Any]) -> RetryPolicy:
    """The policy of the standard AWS retry settings: ``AWS_MAX_ATTEMPTS`` and
    ``AWS_RETRY_MODE``, each over its shared-config counterpart in ``shared_config``.

    Raises:
        ConfigurationError: A value is invalid.
    """
    attempts = os.environ.get("AWS_MAX_ATTEMPTS") or shared_config[0]
    mode = os.environ.get("AWS_RETRY_MODE") or shared_config[1]
    return policy_from_aws(attempts, mode)


def cached_clients() -> int:
    """How many botocore clients the cache holds (at most :data:`MAX_CACHED_CLIENTS`)."""
    return len(_clients)


class Transport:
    """Sends DynamoDB requests for one table, retrying under a policy.

    Args:
        settings: Resolved settings naming the endpoint.
        policy: When to retry throttled and (for idempotent requests) failed requests, and
            the deadline that bounds each call; ``None``: the policy the standard AWS retry
            settings describe (``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``, or ``max_attempts``
            and ``retry_mode`` of the profile in the shared config file), dynaorm's default
            without them.

    Attributes:
        explicit_policy: The ``policy`` given (``None`` when it came from the AWS settings).
        policy: The policy in force.
    """

    def __init__(self, settings: Settings, policy: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.explicit_policy = policy
        self._client, shared_config = _cached(settings)
        self.policy = policy if policy is not None else aws_retry_policy(shared_config)
        policy = self.policy
        self._generation = _generation
        self._read_timeout = float(settings.read_timeout or 0.0) or None
        # The first attempt of a call without a retry budget: cut short only when the
        # deadline is nearer than the read timeout (not with the defaults).
        deadline = policy.deadline
        self._first_timeout = (
            deadline
            if deadline is not None
            and (self._read_timeout is None or deadline < self._read_timeout)
            else None
        )

    @property
    def client(self) -> BaseClient:
        """The botocore client; a fresh one in a process forked since it was taken."""
        if self._generation != _generation:
            self._client = client_for(self.settings)
            self._generation = _generation
        return self._client

    def _attempt_timeout(self, retrier: Retrier) -> float | None:
        """The read timeout for the next attempt under ``retrier``, when the deadline is
        nearer than the connection's own (``None``: the connection's)."""
        left = retrier.time_left()
        if left is None or (self._read_timeout is not None and left >= self._read_timeout):
            return None
        return max(left, LEAST_ATTEMPT_TIME)

    def call(
        self,
        operation: str,
        request: dict[str, Any],
        *,
        idempotent: bool,
        retrier: Retrier | None = None,
        retry_codes: Collection[str] = (),
    ) -> dict[str, Any]:
        """Send ``request`` as ``operation`` (e.g. ``"PutItem"``) and return the response.

        Throttling and failures to connect are always retried (the server did not apply the
        request); server faults, broken connections and read timeouts only when
        ``idempotent``, since the server may have applied the request already. Every retry and
        give-up is logged through the ``dynaorm`` logger. The policy's deadline bounds the
        whole call: an attempt waits for its response only until the deadline.

        Args:
            operation: The API operation name.
            request: The request parameters, exactly as DynamoDB takes them.
            idempotent: Whether sending the request twice has the effect of sending it once.
            retrier: The retry budget to spend (and count in); a fresh one under this
                transport's policy when omitted. Batches pass one budget for a request and all
                of its re-sends.
            retry_codes: Further error codes to retry, e.g. ``TransactionInProgressException``
                for a transaction that carries a ClientRequestToken.

        Raises:
            DynaormError: The translated error once retries are exhausted or not allowed;
                :class:`~dynaorm.RequestTimeout` when the server did not answer in time.
        """
        method = getattr(self.client, xform_name(operation))
        debug = logger.isEnabledFor(_DEBUG)
        # Most requests succeed at once, so a fresh retry budget is made only when one fails,
        # its deadline counted from before the first attempt all the same.
        started = time.monotonic() if retrier is None or debug else 0.0
        retries_before = retrier.retries if debug and retrier is not None else 0
        while True:
            if retrier is None:
                timeout = self._first_timeout
            else:
                retrier.requests += 1
                timeout = self._attempt_timeout(retrier)
            token = None if timeout is None else _attempt_timeout.set(timeout)
            try:
                response: dict[str, Any] = method(**request)
                if debug:
                    retries = 0 if retrier is None else retrier.retries - retries_before
                    _log_request(operation, request, started, retries, response, None)
                return response
            except Exception as exc:
                if retrier is None:
                    retrier = Retrier(self.policy, operation, started=started)
                    retrier.requests += 1
                if not self._may_retry(exc, idempotent, retrier, retry_codes):
                    error = translate(
                        exc,
                        operation,
                        table=table_of(request),
                        region=self._client.meta.region_name,
                        endpoint=self._client.meta.endpoint_url,
                    )
                    if debug:
                        retries = retrier.retries - retries_before
                        _log_request(operation, request, started, retries, None, error)
                    raise error from exc
            finally:
                if token is not None:
                    _attempt_timeout.reset(token)

    @staticmethod
    def _may_retry(
        exc: Exception,
        idempotent: bool,
        retrier: Retrier,
        retry_codes: Collection[str],
    ) -> bool:
        """Count ``exc`` in ``retrier``; sleep and return True when the request may be sent
        again, return False when it is to be given up."""
        code = error_code(exc)
        if code in THROTTLING_CODES:
            retrier.throttles += 1
        retryable = (
            is_retryable(exc, idempotent=idempotent)
            or isinstance(exc, _NEVER_SENT)
            or (bool(code) and code in retry_codes)
        )
        return retryable and retrier.retry(code or type(exc).__name__)


def consumed_capacity(response: Mapping[str, Any]) -> float | None:
    """The capacity units a response reports consumed (summed over a batch's tables), or
    ``None`` when it reports none (the request did not ask, or the server does not say)."""
    reported = response.get("ConsumedCapacity")
    if not reported:
        return None
    entries = [reported] if isinstance(reported, Mapping) else reported
    units = [e.get("CapacityUnits") for e in entries if isinstance(e, Mapping)]
    found = [float(u) for u in units if u is not None]
    return sum(found) if found else None


def _log_request(
    operation: str,
    request: Mapping[str, Any],
    started: float,
    retries: int,
    response: Mapping[str, Any] | None,
    error: Exception | None,
) -> None:
    """Log one request at DEBUG (called only when DEBUG is on): as text, and as record
    attributes ``operation``, ``table``, ``index``, ``duration`` (seconds), ``capacity``,
    ``retries`` and ``error`` (the error code or class, ``None`` on success)."""
    duration = time.monotonic() - started
    table = table_of(request)
    index = request.get("IndexName")
    capacity = None if response is None else consumed_capacity(response)
    outcome = None
    if error is not None:
        outcome = getattr(error, "code", "") or type(error).__name__
    logger.debug(
        "%s table=%s index=%s duration=%.1fms capacity=%s retries=%d%s",
        operation,
        table,
        index,
        duration * 1000.0,
        capacity,
        retries,
        "" if outcome is None else f" error={outcome}",
        extra={
            "operation": operation,
            "table": table,
            "index": index,
            "duration": duration,
            "capacity": capacity,
            "retries": retries,
            "error": outcome,
        },
    )
