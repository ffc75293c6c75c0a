"""What one async HTTP request costs the client, without dynaorm: the floor under an async get.

The same POST (a ``GetItem`` body, ``X-Amz-Target`` header) sent ``requests`` times from
``tasks`` asyncio tasks, two ways: through one ``httpx.AsyncClient`` (the fallback HTTP client of
dynaorm's async transport), and over bare asyncio streams (``asyncio.open_connection``, one
keep-alive connection per task, the request written in one call and the response read up to
its ``Content-Length``: about the least any asyncio HTTP/1.1 client can do). Figures: process
CPU per request and requests per second, after a warm-up on the same connections.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

BODY = b'{"TableName": "bench", "Key": {"PK": {"S": "CUSTOMER#c1"}, "SK": {"S": "ORDER#o1"}}}'
HEADERS = {
    "X-Amz-Target": "DynamoDB_20120810.GetItem",
    "Content-Type": "application/x-amz-json-1.0",
}


async def _httpx(endpoint: str, requests: int, tasks: int) -> tuple[float, float]:
    async with httpx.AsyncClient() as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                answer = await client.post(endpoint, content=BODY, headers=HEADERS)
                assert answer.status_code == 200, answer.status_code

        await asyncio.gather(*(worker(2) for _ in range(tasks)))
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(requests // tasks) for _ in range(tasks)))
        return time.perf_counter() - wall, time.process_time() - cpu


async def _streams(endpoint: str, requests: int, tasks: int) -> tuple[float, float]:
    parts = urlsplit(endpoint)
    head = "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
    message = (
        f"POST / HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    connections = [await asyncio.open_connection(parts.hostname, parts.port) for _ in range(tasks)]

    async def worker(count: int, connection: tuple[asyncio.StreamReader, Any]) -> None:
        reader, writer = connection
        for _ in range(count):
            writer.write(message)
            raw = await reader.readuntil(b"\r\n\r\n")
            assert raw.startswith(b"HTTP/1.1 200"), raw[:40]
            length = next(
                int(line.split(b":", 1)[1])
                for line in raw.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)

    try:
        await asyncio.gather(*(worker(2, c) for c in connections))
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(requests // tasks, c) for c in connections))
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        for _, writer in connections:
            writer.close()
            await writer.wait_closed()


def measure(endpoint: str, *, requests: int, tasks: int) -> dict[str, float]:
    """Both ways against ``endpoint``.

    Returns:
        ``{"httpx_cpu_us", "httpx_per_s", "streams_cpu_us", "streams_per_s"}``.
    """
    sent = requests // tasks * tasks
    out: dict[str, float] = {}
    for name, way in (("httpx", _httpx), ("streams", _streams)):
        wall, cpu = asyncio.run(way(endpoint, requests, tasks))
        out[f"{name}_cpu_us"] = cpu / sent * 1e6
        out[f"{name}_per_s"] = sent / wall
    return out
