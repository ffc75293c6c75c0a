"""A loopback HTTP proxy that passes a number of requests to the real server, then stalls.

A stalled request is read in full and never answered, as a server that has stopped responding
would: the client's read timeout fires, and a request that is retried stalls again. The proxy
listens on 127.0.0.1 only and records every request it receives (time, operation, segment), so
a test can count what was sent after it stopped reading.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import attrs


@attrs.frozen
class Received:
    """One request the proxy read."""

    at: float
    operation: str
    segment: int | None
    stalled: bool


class StallProxy:
    """Forwards to ``upstream`` until ``passes`` requests went through, then stalls the rest.

    Attributes:
        received: Every request read, in order.
        on_stall: Called (on the proxy's thread) with the number of requests stalled so far,
            each time one more stalls.
    """

    def __init__(self, upstream: str, *, passes: int) -> None:
        parsed = urlparse(upstream)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.passes = passes
        self.received: list[Received] = []
        self.on_stall: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        self._stalled = 0
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test-stall-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def stalled(self) -> int:
        """Requests stalled so far."""
        with self._lock:
            return self._stalled

    def wait_stalled(self, n: int, timeout: float = 20.0) -> None:
        """Wait until ``n`` requests have stalled (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.stalled < n:
            assert time.monotonic() < deadline, f"only {self.stalled} of {n} requests stalled"
            time.sleep(0.005)

    def after(self, moment: float) -> list[Received]:
        """The requests received after ``moment`` (a ``time.monotonic()`` value)."""
        with self._lock:
            return [r for r in self.received if r.at > moment]

    def _admit(self, operation: str, segment: int | None) -> bool:
        with self._lock:
            passing = len(self.received) < self.passes
            self.received.append(Received(time.monotonic(), operation, segment, not passing))
            if not passing:
                self._stalled += 1
            stalled = self._stalled
        if not passing and self.on_stall is not None:
            self.on_stall(stalled)
        return passing

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                try:
                    segment = json.loads(body or b"{}").get("Segment")
                except ValueError:
                    segment = None
                if not proxy._admit(target.rsplit(".", 1)[-1], segment):
                    proxy._release.wait(60)  # never answer; the client times out
                    self.close_connection = True
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                status, reply_headers, reply = proxy._forward("POST", self.path, headers, body)
                self.send_response(status)
                for name, value in reply_headers:
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply)
                self.close_connection = True

        return Handler

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def stall_proxy(upstream: str, *, passes: int) -> Iterator[StallProxy]:
    """A started :class:`StallProxy`, closed when the block ends."""
    proxy = StallProxy(upstream, passes=passes)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
