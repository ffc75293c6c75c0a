"""A small asyncio HTTP/1.1 client for the lean data-plane wire: ``POST`` a body, read the
answer, keep the connection for the next request.

* **Pool**: one :class:`ConnectionPool` per event loop and endpoint (scheme, host, port, TLS
  settings), of at most ``max_connections`` connections (a request beyond them waits for
  one, at most the connect timeout); idle connections are reused last-in first-out.
* **Stale connections**: an idle connection the server closed (or sent anything on) is
  dropped before use. When a reused connection fails before the request was handed to the
  socket, the request is sent once more on a fresh connection (it surely was not sent); when
  it ends without a byte of the answer, only an ``idempotent`` request is sent again. Every
  other failure is raised as the botocore error the sync lean sender raises for it
  (``EndpointConnectionError``, ``ConnectTimeoutError``, ``SSLError``, ``ReadTimeoutError``,
  ``ConnectionClosedError``), for the transport's retry decision.
* **TLS**: ``https`` endpoints are verified as botocore verifies them (its CA bundle, a
  custom bundle path, or no verification for ``verify=False``), with SNI.
* **Timeouts**: connecting (TCP and TLS) is bounded by the connect timeout, sending the
  request and reading the whole answer by the read timeout.
* **Answers**: a body by ``Content-Length``, chunked transfer-encoding, or up to the end of
  the connection; ``Connection: close`` is honoured.
* **Never half-read**: a connection that timed out, failed or whose task was cancelled is
  closed, never reused. A loop's connections are closed when the loop shuts down
  (``asyncio.run``), and never used by another loop. No thread is started (the endpoint's
  host is resolved by the loop; a numeric address needs no resolver).
"""

from __future__ import annotations

import asyncio
import select
import ssl
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.httpsession import get_cert_path

__all__ = ["ConnectionPool", "Response", "connection_pool", "read_response", "ssl_context"]

_LIMIT = 1 << 16  # the longest head of an answer, and the reader's buffer
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Response:
    """An HTTP answer: ``status``, ``headers`` (lower-case names), ``body``."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Unsent(Exception):
    """A reused connection failed before the request was handed to it."""


class _Silent(Exception):
    """A connection ended before the first byte of the answer."""


class _Connection:
    __slots__ = ("reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reused = False

    def usable(self) -> bool:
        """Whether an idle connection may carry a request: open, and nothing arrived on it
        (the server's close, or bytes no request asked for)."""
        if self.writer.is_closing() or self.reader.at_eof():
            return False
        sock = self.writer.get_extra_info("socket")
        return sock is not None and not _readable(sock.fileno())

    def close(self) -> None:
        self.writer.transport.abort()


def _readable(fd: int) -> bool:
    """Whether ``fd`` has anything to read (or was closed by the peer), without waiting."""
    if hasattr(select, "poll"):  # any descriptor number (select() stops at FD_SETSIZE)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # pragma: no cover - Windows
    return bool(readable)


def ssl_context(verify: Any) -> ssl.SSLContext:
    """The TLS context for botocore's ``verify`` (``True``: botocore's CA bundle; a path: that
    bundle; ``False``: no verification)."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=get_cert_path(verify))


class ConnectionPool:
    """Keep-alive connections to one endpoint, for one event loop (see the module docs).

    Args:
        url: The endpoint (``http://host:port/`` or ``https://...``).
        max_connections: The most connections open at once.
        tls: The TLS context of an ``https`` endpoint.
    """

    def __init__(self, url: str, max_connections: int, tls: ssl.SSLContext | None) -> None:
        parts = urlsplit(url)
        self.url = url
        self._host = parts.hostname or ""
        self._port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
        self._tls = tls if parts.scheme == "https" else None
        host = f"[{self._host}]" if ":" in self._host else self._host
        if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
            host = f"{host}:{parts.port}"
        self.host_header = host
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._closed = False

    async def post(
        self,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
        idempotent: bool,
    ) -> Response:
        """``POST`` ``body`` with ``headers`` (``Host`` and ``Content-Length`` are added) and
        return the answer.

        Raises:
            BotoCoreError: The connection failed or timed out (see the module docs).
        """
        message = _request(path, self.host_header, headers, body)
        slots = self._slots
        if slots.locked():
            try:
                async with asyncio.timeout(connect_timeout):
                    await slots.acquire()
            except TimeoutError as exc:
                raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        else:
            await slots.acquire()
        try:
            connection = self._take()
            while True:
                if connection is None:
                    connection = await self._connect(connect_timeout)
                try:
                    return await self._exchange(connection, message, read_timeout)
                except _Unsent as exc:
                    if connection.reused:  # once more, on a fresh connection
                        connection = None
                        continue
                    raise ConnectionClosedError(
                        error=exc.__cause__, request=None, endpoint_url=self.url
                    ) from exc
                except _Silent as exc:
                    if connection.reused and idempotent:
                        connection = None
                        continue
                    raise ConnectionClosedError(
                        error=exc.__cause__, request=None, endpoint_url=self.url
                    ) from exc
        finally:
            slots.release()

    def _take(self) -> _Connection | None:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    async def _connect(self, timeout: float | None) -> _Connection:
        tls = self._tls
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=tls,
                    server_hostname=self._host if tls is not None else None,
                    limit=_LIMIT,
                )
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except ssl.SSLError as exc:
            raise SSLError(endpoint_url=self.url, error=exc) from exc
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        return _Connection(reader, writer)

    async def _exchange(
        self, connection: _Connection, message: bytes, timeout: float | None
    ) -> Response:
        keep = False
        try:
            async with asyncio.timeout(timeout):
                writer = connection.writer
                writer.write(message)
                try:
                    await writer.drain()
                except OSError as exc:  # the connection was lost before the bytes went out
                    raise _Unsent() from exc
                response, keep = await read_response(connection.reader)
        except TimeoutError as exc:
            connection.close()
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except (_Unsent, _Silent):
            connection.close()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            connection.close()
            raise ConnectionClosedError(error=exc, request=None, endpoint_url=self.url) from exc
        except BaseException:  # cancelled: the answer is half-read at best
            connection.close()
            raise
        if keep and not self._closed:
            connection.reused = True
            self._idle.append(connection)
        else:
            connection.writer.close()
        return response

    def close(self) -> None:
        """Close the idle connections; those in use are closed when their request ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.writer.close()


def _request(path: str, host: str, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"]
    for name, value in headers.items():
        if name.lower() not in ("host", "content-length"):
            lines.append(f"{name}: {value}\r\n")
    lines.append(f"Content-Length: {len(body)}\r\n\r\n")
    return "".join(lines).encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """The next answer on ``reader`` and whether the connection may carry another request.

    Raises:
        _Silent: The connection ended before the first byte of the answer.
        ValueError: The answer is not HTTP/1.x.
        asyncio.IncompleteReadError: The connection ended mid-answer.
    """
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Silent() from exc
            raise
        except ConnectionResetError as exc:
            raise _Silent() from exc
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1.") or len(rest) < 3:
            raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"malformed header line: {line[:80]!r}")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if not 100 <= status < 200:
            break  # an informational answer (100 Continue) precedes the real one
    connection = headers.get("connection", "").lower()
    keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    coding = headers.get("transfer-encoding")
    length = headers.get("content-length")
    if coding is not None and "chunked" in coding.lower():
        body = await _chunked(reader)
    elif length is not None:
        size = int(length)
        if size < 0:
            raise ValueError(f"negative Content-Length: {length!r}")
        body = await reader.readexactly(size) if size else b""
    elif status in (204, 304):
        body = b""
    else:
        body = await reader.read()  # up to the end of the connection
        keep = False
    return Response(status, headers, body), keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body, its chunks joined (the trailer after them is read and dropped)."""
    chunks: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("a chunk does not end with CRLF")


_pools: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[dict[tuple[Any, ...], ConnectionPool], Any]
] = weakref.WeakKeyDictionary()


async def _closer(
    loop: asyncio.AbstractEventLoop, pools: dict[tuple[Any, ...], ConnectionPool]
) -> AsyncIterator[None]:
    """Suspended for the loop's life: the loop closes it when it shuts down (``asyncio.run``
    shuts down async generators before closing), which closes the loop's pools and forgets
    them (this generator refers to its loop, so it must not outlive the shutdown)."""
    try:
        yield
    finally:
        for pool in pools.values():
            pool.close()
        pools.clear()
        _pools.pop(loop, None)


async def connection_pool(url: str, max_connections: int, verify: Any) -> ConnectionPool:
    """The running loop's pool for ``url`` (made on first use).

    Args:
        verify: botocore's TLS verification (``True``, ``False`` or a CA bundle path).
    """
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is None:
        for other in [other for other in _pools if other.is_closed()]:
            # closed without shutting down its async generators: its connections (which
            # hold the loop) are dropped, to be closed as garbage
            del _pools[other]
        pools: dict[tuple[Any, ...], ConnectionPool] = {}
        closer = _closer(loop, pools)
        await closer.__anext__()
        _pools[loop] = found = (pools, closer)
    pools = found[0]
    key = (url, max_connections, verify if isinstance(verify, (str, bool)) else id(verify))
    pool = pools.get(key)
    if pool is None:
        tls = ssl_context(verify) if url.startswith("https") else None
        pool = pools[key] = ConnectionPool(url, max_connections, tls)
    return pool
