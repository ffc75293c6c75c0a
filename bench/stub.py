"""A loopback stub of DynamoDB that answers every request after a fixed delay, concurrently.

``python -m bench.stub [delay_ms [item_json]]`` serves on a free 127.0.0.1 port and prints
its endpoint on the first line of its output. Each request is answered on a thread of its own
after ``delay_ms`` (default 5) with a valid, empty success for its operation
(``BatchWriteItem``: nothing unprocessed; ``DescribeTable``: an active table; ``GetItem``: the
item ``item_json`` when given, as the item found; anything else: ``{}``) and the
``x-amz-crc32`` header DynamoDB sends. Since the server's time per request is a constant
wait that overlaps across connections, a client's throughput against it is bounded by the
client itself: its CPU per request and how many requests it keeps in flight.

The stub runs in a process of its own (:func:`running`), so its work does not share the
interpreter lock with the client being measured.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DELAY_MS = 5.0


def answer(
    operation: str, request: dict[str, Any], get_item: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The empty success the stub sends for ``operation`` (``request``: the request body;
    ``get_item``: the item every ``GetItem`` finds, none when ``None``)."""
    if operation == "GetItem" and get_item is not None:
        return {"Item": get_item}
    if operation == "BatchWriteItem":
        return {"UnprocessedItems": {}}
    if operation == "DescribeTable":
        name = str(request.get("TableName", "table"))
        return {
            "Table": {
                "TableName": name,
                "TableStatus": "ACTIVE",
                "KeySchema": [
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                "ItemCount": 0,
                "TableSizeBytes": 0,
                "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            }
        }
    return {}


def _handler(delay: float, get_item: dict[str, Any] | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
            # Only DescribeTable's answer depends on the request; other bodies stay unparsed.
            request = json.loads(raw or b"{}") if operation == "DescribeTable" else {}
            body = json.dumps(answer(operation, request, get_item)).encode()
            head = (
                "HTTP/1.1 200 OK\r\n"
                "Content-Type: application/x-amz-json-1.0\r\n"
                f"Content-Length: {len(body)}\r\n"
                "x-amzn-RequestId: stub\r\n"
                f"x-amz-crc32: {zlib.crc32(body) & 0xFFFFFFFF}\r\n\r\n"
            )
            time.sleep(delay)
            # One write: headers and body in separate small writes would meet the client's
            # delayed acknowledgement (tens of milliseconds) on some systems.
            self.wfile.write(head.encode() + body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    return Handler


class _Server(ThreadingHTTPServer):
    # A client opening a hundred connections at once (asyncio tasks) must not find the listen
    # queue full: the default of 5 resets connections, which the client then retries.
    request_queue_size = 512


def serve(delay_ms: float = DELAY_MS, get_item: dict[str, Any] | None = None) -> None:
    """Serve until killed, printing the endpoint first."""
    server = _Server(("127.0.0.1", 0), _handler(delay_ms / 1000, get_item))
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


@contextlib.contextmanager
def running(delay_ms: float = DELAY_MS, get_item: dict[str, Any] | None = None) -> Iterator[str]:
    """The stub in a process of its own; yields its endpoint. ``get_item``: the item (in
    DynamoDB JSON) every ``GetItem`` finds."""
    extra = [json.dumps(get_item)] if get_item is not None else []
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.stub", str(delay_ms), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        if not endpoint.startswith("http"):
            raise RuntimeError(f"the stub did not start (exit status {process.poll()})")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    serve(
        float(sys.argv[1]) if len(sys.argv) > 1 else DELAY_MS,
        json.loads(sys.argv[2]) if len(sys.argv) > 2 else None,
    )
