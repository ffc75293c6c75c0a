"""Short-circuit the HTTP send with canned responses, so only client CPU is measured.

botocore clients are answered from their ``before-send`` event; a transport that sends over a
urllib3 pool of its own (a sender with a ``_pool``) is answered from that pool's ``urlopen``.
Both answers carry the ``x-amz-crc32`` header DynamoDB sends, so both clients check it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-RequestId": "bench",
        "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF),
    }


class _PoolResponse:
    """What a urllib3 pool's ``urlopen`` returns, as far as a sender reads it."""

    status = 200

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.headers = _headers(data)


def _operation(headers: Any) -> str:
    target = headers.get("X-Amz-Target", b"")
    if isinstance(target, bytes):
        target = target.decode()
    return str(target).rsplit(".", 1)[-1]


def install_pool(sender: Any, responses: dict[str, dict[str, Any]]) -> Callable[[], None]:
    """Answer the urllib3 pool of ``sender`` (its ``_pool``) with canned bodies; returns an
    uninstaller."""
    bodies = {op: json.dumps(body).encode() for op, body in responses.items()}
    pool = sender._pool

    def urlopen(method: str, url: str, *, headers: Any = None, **_: Any) -> _PoolResponse:
        return _PoolResponse(bodies[_operation(headers or {})])

    pool.urlopen = urlopen

    def uninstall() -> None:
        del pool.urlopen

    return uninstall


def install(client: Any, responses: dict[str, dict[str, Any]]) -> Callable[[], None]:
    """Answer each operation named in ``responses`` with that body; returns an uninstaller."""
    bodies = {op: json.dumps(body).encode() for op, body in responses.items()}

    def handler(request: Any, **kwargs: Any) -> AWSResponse:
        body = bodies[_operation(request.headers)]
        return AWSResponse(request.url, 200, _headers(body), _Body(body))

    client.meta.events.register_first("before-send.dynamodb", handler, unique_id="bench-canned")

    def uninstall() -> None:
        client.meta.events.unregister("before-send.dynamodb", unique_id="bench-canned")

    return uninstall
