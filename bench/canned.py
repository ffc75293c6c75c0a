"""Short-circuit botocore's HTTP send with canned responses, so only client CPU is measured."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def install(client: Any, responses: dict[str, dict[str, Any]]) -> Callable[[], None]:
    """Answer each operation named in ``responses`` with that body; returns an uninstaller."""
    bodies = {op: json.dumps(body).encode() for op, body in responses.items()}

    def handler(request: Any, **kwargs: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        operation = target.rsplit(".", 1)[-1]
        body = bodies[operation]
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Body(body))

    client.meta.events.register_first("before-send.dynamodb", handler, unique_id="bench-canned")

    def uninstall() -> None:
        client.meta.events.unregister("before-send.dynamodb", unique_id="bench-canned")

    return uninstall
