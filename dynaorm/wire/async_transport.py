"""The async transport: the lean wire over dynaorm's asyncio HTTP client
(:mod:`dynaorm.wire.async_http`), for ``await``-ing reads and writes (``Entity.aget``,
``instance.asave``, ``query.apage`` ...).

It sends exactly what the lean transport sends (:mod:`dynaorm.wire.lean`): the same request
body, signed by botocore's SigV4 with the same credentials, to the same endpoint, parsed the
same way, with the same crc32 check and the same botocore ``ClientError`` for an error
answer, translated to the same dynaorm errors (:mod:`dynaorm.wire.translate`). Retries follow
the same policy decisions (:func:`~dynaorm.wire.transport.may_retry` and
:class:`~dynaorm.wire.retry.Retrier`), sleeping with ``asyncio.sleep``; the policy's
deadline bounds the call as it does a sync one. The hooks of :mod:`dynaorm.wire.hooks` (fault
injection, request counting) see every attempt. No thread is started, and cancelling the
task (``asyncio.timeout``, ``task.cancel()``) stops the call at once, mid-request or
mid-sleep.

Connections are pooled per event loop and endpoint, and closed when the loop shuts down.
An endpoint reached through a proxy (botocore's proxy configuration or the environment's
``HTTPS_PROXY``/``HTTP_PROXY``) is sent to with ``httpx.AsyncClient`` (the ``async`` extra),
as is every endpoint with ``DYNAORM_ASYNC_HTTP=httpx``; one httpx client is kept per event
loop and TLS settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
import weakref
from collections.abc import Collection, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

from dynaorm.base.errors import ConfigurationError
from dynaorm.wire.async_http import connection_pool
from dynaorm.wire.control_plane import control_response
from dynaorm.wire.hooks import Attempt, registered_hooks
from dynaorm.wire.lean import DATA_PLANE, LeanSender, check_crc32, lean_sender
from dynaorm.wire.retry import Retrier
from dynaorm.wire.transport import Transport, log_request, may_retry

__all__ = ["HTTP_CLIENTS", "AsyncTransport", "async_transport"]

logger = logging.getLogger("dynaorm")

HTTP_CLIENTS = ("asyncio", "httpx")
"""The HTTP clients the async transport sends with (``DYNAORM_ASYNC_HTTP``, or
``AsyncTransport(http=...)``): dynaorm's own asyncio client (the default) or httpx."""

# botocore's defaults, when the settings give none.
_DEFAULT_READ_TIMEOUT = 60.0
_DEFAULT_POOL = 10

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]] = (
    weakref.WeakKeyDictionary()
)


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:  # pragma: no cover - the extra is installed in development
        raise ConfigurationError(
            "the async API's httpx client (a proxy, or DYNAORM_ASYNC_HTTP=httpx) needs httpx: "
            "install dynaorm[async] (pip install 'dynaorm[async]')"
        ) from exc
    return httpx


def _verify(value: Any) -> ssl.SSLContext | bool:
    """httpx's ``verify`` for botocore's (``True``, ``False`` or a CA bundle path)."""
    if isinstance(value, str):
        return ssl.create_default_context(cafile=value)
    return bool(value)


def _http_client(verify: Any, proxy: str | None) -> Any:
    """The running loop's httpx client for ``verify`` and ``proxy`` (made on first use)."""
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    key = (verify if isinstance(verify, (str, bool)) else id(verify), proxy)
    found = per_loop.get(key)
    if found is None or found.is_closed:
        client = _httpx().AsyncClient
        found = per_loop[key] = (
            client(verify=_verify(verify))
            if proxy is None
            else client(verify=_verify(verify), proxy=proxy, trust_env=False)
        )
    return found


async def _httpx_post(
    url: str,
    verify: Any,
    proxy: str | None,
    body: bytes,
    headers: dict[str, str],
    connect: float | None,
    read: float,
) -> tuple[int, dict[str, str], bytes]:
    """One ``POST`` through httpx (through ``proxy`` when one is given), its errors as the
    botocore errors of the sync sender."""
    httpx = _httpx()
    limits = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
    try:
        client = _http_client(verify, proxy)
        answer = await client.post(url, content=body, headers=headers, timeout=limits)
    except httpx.ConnectTimeout as exc:
        raise ConnectTimeoutError(endpoint_url=url, error=exc) from exc
    except httpx.ConnectError as exc:
        if isinstance(exc.__context__, ssl.SSLError):
            raise SSLError(endpoint_url=url, error=exc) from exc
        raise EndpointConnectionError(endpoint_url=url, error=exc) from exc
    except httpx.ReadTimeout as exc:
        raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise ConnectionClosedError(error=exc, request=None, endpoint_url=url) from exc
    except httpx.HTTPError as exc:
        raise HTTPClientError(error=exc) from exc
    answer_headers = {name.lower(): value for name, value in answer.headers.items()}
    return answer.status_code, answer_headers, answer.content


class AsyncTransport:
    """Sends one table's data-plane requests with ``await`` (see the module docs).

    Args:
        transport: The table's sync transport, whose client, credentials, endpoint, retry
            policy, timeouts and pool size are used.
        http: The HTTP client, one of :data:`HTTP_CLIENTS` (``None``: ``DYNAORM_ASYNC_HTTP``,
            or ``"asyncio"``); an endpoint reached through a proxy (the client's proxy
            configuration or the environment's) is always sent to with httpx.

    Attributes:
        http: The HTTP client in use.

    Raises:
        ConfigurationError: ``http`` is not one of :data:`HTTP_CLIENTS`, or httpx is needed
            and not installed.
    """

    def __init__(self, transport: Transport, http: str | None = None) -> None:
        self.transport = transport
        client = transport.client
        self._client = client
        lean = lean_sender(client)  # None: the endpoint is reached through a proxy
        self._sender = lean or LeanSender(client)
        chosen: str = http or os.environ.get("DYNAORM_ASYNC_HTTP") or HTTP_CLIENTS[0]
        if chosen not in HTTP_CLIENTS:
            raise ConfigurationError(
                f"the async HTTP client must be one of {', '.join(HTTP_CLIENTS)}, got {chosen!r}"
            )
        self.http = chosen if lean is not None else "httpx"
        if self.http == "httpx":
            _httpx()
        self._path = urlsplit(self._sender.url).path or "/"
        pool = getattr(client.meta.config, "max_pool_connections", None)
        self._max_connections = int(pool or _DEFAULT_POOL)
        inner: Any = client
        http_session = inner._endpoint.http_session
        self._verify = http_session._verify
        # the proxy botocore would use for the endpoint (its configuration or the environment)
        self._proxy: str | None = http_session._proxy_config.proxy_url_for(self._sender.url)
        connect = self._sender._connect_timeout
        self._connect = float(connect) if isinstance(connect, (int, float)) else None
        self._read = transport._read_timeout or _DEFAULT_READ_TIMEOUT

    async def call(
        self,
        operation: str,
        request: dict[str, Any],
        *,
        idempotent: bool,
        retrier: Retrier | None = None,
        retry_codes: Collection[str] = (),
    ) -> dict[str, Any]:
        """Send ``request`` as ``operation`` and return the parsed response, retrying as
        :meth:`Transport.call <dynaorm.wire.transport.Transport.call>` does.

        Args:
            retrier: The retry budget to spend and count in (a batch's request and its
                re-sends share one, as do a transaction's commit and its re-sends); its stop
                event ends a retry sleep early.

        Raises:
            DynaormError: The translated error once retries are exhausted or not allowed.
            asyncio.CancelledError: The task was cancelled (nothing is retried after it).
        """
        transport = self.transport
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.monotonic()
        retries_before = 0 if retrier is None else retrier.retries
        while True:
            if retrier is None:
                timeout = transport._first_timeout
            else:
                retrier.requests += 1
                timeout = transport._attempt_timeout(retrier)
            try:
                response = await self._send(operation, request, timeout, idempotent)
                if debug:
                    retries = 0 if retrier is None else retrier.retries - retries_before
                    log_request(operation, request, started, retries, response, None)
                return response
            except Exception as exc:
                if retrier is None:
                    retrier = Retrier(transport.policy, operation, started=started)
                    retrier.requests += 1
                reason = _reason(exc)
                delay = None
                if may_retry(exc, idempotent, retry_codes, retrier):
                    delay = retrier.next_delay(reason)
                if delay is None or not await retrier.apause(delay, reason):
                    error = transport.failed(exc, operation, request)
                    if debug:
                        retries = retrier.retries - retries_before
                        log_request(operation, request, started, retries, None, error)
                    raise error from exc

    async def _send(
        self, operation: str, request: dict[str, Any], timeout: float | None, idempotent: bool
    ) -> dict[str, Any]:
        """One attempt, through the client's hooks when any are registered."""
        hooks = registered_hooks(self._client)
        if hooks is None:
            return await self._post(operation, request, timeout, idempotent)
        attempt = Attempt(operation, dict(request), url=self._client.meta.endpoint_url)
        try:
            answer = hooks.before_send(attempt)
        finally:
            if attempt.delay > 0:  # a delay the hooks asked for, awaited: the loop runs on
                await asyncio.sleep(attempt.delay)
        try:
            if answer is not None:
                response = self.transport._answered(self._client, operation, answer)
            else:
                response = await self._post(operation, attempt.params, timeout, idempotent)
        except ClientError as exc:
            hooks.after_call(attempt, cast(dict[str, Any], exc.response))
            raise
        hooks.after_call(attempt, response)
        return response

    async def _post(
        self, operation: str, params: Mapping[str, Any], timeout: float | None, idempotent: bool
    ) -> dict[str, Any]:
        sender = self._sender
        body, headers = sender.prepare(operation, params)
        headers["Accept-Encoding"] = "identity"  # the crc32 is of the body as sent
        read = timeout if timeout is not None else self._read
        if self.http == "asyncio":
            try:
                pool = await connection_pool(sender.url, self._max_connections, self._verify)
                answer = await pool.post(
                    self._path,
                    headers,
                    body,
                    connect_timeout=self._connect,
                    read_timeout=read,
                    idempotent=idempotent,
                )
            except BotoCoreError:
                raise
            except Exception as exc:  # as the sync sender: any other failure of the client
                raise HTTPClientError(error=exc) from exc
            status, response_headers, data = answer.status, answer.headers, answer.body
        else:
            status, response_headers, data = await _httpx_post(
                sender.url, self._verify, self._proxy, body, headers, self._connect, read
            )
        check_crc32(response_headers, data)
        if operation not in DATA_PLANE and status < 300:
            return control_response(self._client, operation, status, response_headers, data)
        return sender.read(operation, status, response_headers, data)


def _reason(exc: Exception) -> str:
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    return str(code or type(exc).__name__)


_async: weakref.WeakKeyDictionary[Transport, AsyncTransport] = weakref.WeakKeyDictionary()


def async_transport(transport: Transport) -> AsyncTransport:
    """The async transport over ``transport`` (one per sync transport and client)."""
    found = _async.get(transport)
    if found is None or found._client is not transport.client:
        found = _async[transport] = AsyncTransport(transport)
    return found
