"""Sending requests: botocore clients, retries under the policy, and error translation."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urlparse

import botocore.session
from botocore import xform_name
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from dynaorm._errors import ConfigurationError
from dynaorm._retry import DEFAULT_POLICY, Retrier, RetryPolicy
from dynaorm._settings import Settings
from dynaorm._translate import THROTTLING_CODES, error_code, is_retryable, translate

__all__ = ["Transport", "client_for"]

# The connection was never made, so the request never reached the server: any request, even
# a conditional write, may be sent again.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)

_clients: dict[Settings, BaseClient] = {}
_clients_lock = threading.Lock()

# Local DynamoDB-compatible servers accept any credentials; these are used only for them.
_LOCAL_CREDENTIALS = {"aws_access_key_id": "dynaorm", "aws_secret_access_key": "dynaorm"}


def _is_loopback(endpoint: str) -> bool:
    host = urlparse(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _make_client(settings: Settings) -> BaseClient:
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
    return session.create_client(
        "dynamodb",
        region_name=region,
        endpoint_url=settings.endpoint_url,
        config=config,
        **credentials,
    )


def client_for(settings: Settings) -> BaseClient:
    """The shared botocore client for fully resolved ``settings`` (created on first use)."""
    client = _clients.get(settings)
    if client is None:
        with _clients_lock:
            client = _clients.get(settings)
            if client is None:
                client = _make_client(settings)
                _clients[settings] = client
    return client


class Transport:
    """Sends DynamoDB requests for one table, retrying under a policy.

    Args:
        settings: Resolved settings naming the endpoint.
        policy: When to retry throttled and (for idempotent requests) failed requests.
    """

    def __init__(self, settings: Settings, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self.settings = settings
        self.policy = policy
        self.client = client_for(settings)

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
        give-up is logged through the ``dynaorm`` logger.

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
            DynaormError: The translated error once retries are exhausted or not allowed.
        """
        method = getattr(self.client, xform_name(operation))
        # Most requests succeed at once, so a fresh retry budget is made only when one fails,
        # its deadline counted from before the first attempt all the same.
        started = time.monotonic() if retrier is None else 0.0
        while True:
            if retrier is not None:
                retrier.requests += 1
            try:
                response: dict[str, Any] = method(**request)
                return response
            except Exception as exc:
                if retrier is None:
                    retrier = Retrier(self.policy, operation, started=started)
                    retrier.requests += 1
                if not self._may_retry(exc, idempotent, retrier, retry_codes):
                    raise translate(exc, operation) from exc

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
