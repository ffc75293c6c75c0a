"""Sending requests: retries under the policy, error translation, and request logging.

The client rules (bounded time, fork safety, a bounded cache) live with the clients,
:mod:`dynaorm.wire.clients`; here, **bounded time** means that the retry policy's deadline
bounds the whole call: an attempt that would outlast it waits for its response only until the
deadline (the clients' per-request ``read_timeout``), so a server that accepts connections
and never answers costs at most ``deadline + connect_timeout``.

Each request is logged at DEBUG on the ``dynaorm`` logger (operation, table, index, duration,
consumed capacity, retries); with DEBUG off that costs one ``isEnabledFor`` check per call.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection, Mapping
from typing import Any, cast

from botocore import xform_name
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from dynaorm.base.settings import Settings
from dynaorm.wire.clients import attempt_timeout, cached_client, client_for, client_generation
from dynaorm.wire.hooks import Answer, Attempt, registered_hooks
from dynaorm.wire.lean import DATA_PLANE, LeanSender, lean_sender
from dynaorm.wire.retry import LEAST_ATTEMPT_TIME, Retrier, RetryPolicy, policy_from_aws
from dynaorm.wire.translate import THROTTLING_CODES, error_code, is_retryable, table_of, translate

__all__ = ["Transport", "aws_retry_policy", "consumed_capacity", "log_request", "may_retry"]

logger = logging.getLogger("dynaorm")
_DEBUG = logging.DEBUG

# The connection was never made, so the request never reached the server: any request, even
# a conditional write, may be sent again.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)


def aws_retry_policy(shared_config: tuple[Any, Any]) -> RetryPolicy:
    """The policy of the standard AWS retry settings: ``AWS_MAX_ATTEMPTS`` and
    ``AWS_RETRY_MODE``, each over its shared-config counterpart in ``shared_config``.

    Raises:
        ConfigurationError: A value is invalid.
    """
    attempts = os.environ.get("AWS_MAX_ATTEMPTS") or shared_config[0]
    mode = os.environ.get("AWS_RETRY_MODE") or shared_config[1]
    return policy_from_aws(attempts, mode)


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
        self._client, shared_config = cached_client(settings)
        self.policy = policy if policy is not None else aws_retry_policy(shared_config)
        policy = self.policy
        self._generation = client_generation()
        self._lean: LeanSender | None = None
        self._wants_lean = settings.transport == "lean"
        if self._wants_lean:
            self._lean = lean_sender(self._client)
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
        if self._generation != client_generation():
            self._client = client_for(self.settings)
            self._generation = client_generation()
            if self._wants_lean:
                self._lean = lean_sender(self._client)
        return self._client

    @property
    def lean(self) -> LeanSender | None:
        """The lean sender of the data-plane requests (``None``: botocore sends them all)."""
        self.client  # noqa: B018 - a forked child takes a fresh client and sender first
        return self._lean

    def _send(self, client: BaseClient, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One attempt: through the hooks of :mod:`dynaorm.wire.hooks` when any are
        registered, then the lean sender (data plane) or the botocore client."""
        hooks = registered_hooks(client)
        lean = self._lean if operation in DATA_PLANE else None
        if hooks is None:
            if lean is not None:
                return lean.send(operation, request)
            response: dict[str, Any] = getattr(client, xform_name(operation))(**request)
            return response
        attempt = Attempt(operation, dict(request), url=client.meta.endpoint_url)
        try:
            answer = hooks.before_send(attempt)
        finally:
            hooks.wait(attempt)  # a delay the hooks asked for (simulated latency)
        try:
            if answer is not None:
                response = self._answered(client, operation, answer)
            elif lean is not None:
                response = lean.send(operation, attempt.params)
            else:
                response = getattr(client, xform_name(operation))(**attempt.params)
        except ClientError as exc:
            # An error response is a response too (the hooks may change the error's).
            hooks.after_call(attempt, cast(dict[str, Any], exc.response))
            raise
        hooks.after_call(attempt, response)
        return response

    def _answered(self, client: BaseClient, operation: str, answer: Answer) -> dict[str, Any]:
        """The parsed response for a hook's answer (parsed as the lean transport parses a
        server's, which equals botocore's parse)."""
        reader = self._lean or lean_sender(client) or LeanSender(client)
        headers = {name.lower(): value for name, value in answer.headers.items()}
        return reader.read(operation, answer.status, headers, answer.body)

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
        client = self.client
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
            token = None if timeout is None else attempt_timeout.set(timeout)
            try:
                response = self._send(client, operation, request)
                if debug:
                    retries = 0 if retrier is None else retrier.retries - retries_before
                    _log_request(operation, request, started, retries, response, None)
                return response
            except Exception as exc:
                if retrier is None:
                    retrier = Retrier(self.policy, operation, started=started)
                    retrier.requests += 1
                if not self._may_retry(exc, idempotent, retrier, retry_codes):
                    error = self.failed(exc, operation, request)
                    if debug:
                        retries = retrier.retries - retries_before
                        _log_request(operation, request, started, retries, None, error)
                    raise error from exc
            finally:
                if token is not None:
                    attempt_timeout.reset(token)

    @staticmethod
    def _may_retry(
        exc: Exception,
        idempotent: bool,
        retrier: Retrier,
        retry_codes: Collection[str],
    ) -> bool:
        """Count ``exc`` in ``retrier``; sleep and return True when the request may be sent
        again, return False when it is to be given up."""
        if not may_retry(exc, idempotent, retry_codes, retrier):
            return False
        return retrier.retry(error_code(exc) or type(exc).__name__)

    def failed(self, exc: Exception, operation: str, request: Mapping[str, Any]) -> Exception:
        """The dynaorm error to raise for ``exc``, the last failure of ``request``."""
        return translate(
            exc,
            operation,
            table=table_of(request),
            region=self._client.meta.region_name,
            endpoint=self._client.meta.endpoint_url,
        )


def may_retry(
    exc: Exception, idempotent: bool, retry_codes: Collection[str], retrier: Retrier
) -> bool:
    """Whether the policy lets a request that failed with ``exc`` be sent again (counting a
    throttle in ``retrier``); the retry budget itself is the caller's to spend. Shared by the
    sync and the async transport."""
    code = error_code(exc)
    if code in THROTTLING_CODES:
        retrier.throttles += 1
    return (
        is_retryable(exc, idempotent=idempotent)
        or isinstance(exc, _NEVER_SENT)
        or (bool(code) and code in retry_codes)
    )


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


log_request = _log_request
"""Log one request at DEBUG (the async transport logs through it too)."""
