"""Which HTTP client the async transport sends with: dynaorm's asyncio client by default,
httpx when chosen (``http=``, ``DYNAORM_ASYNC_HTTP``) and for an endpoint behind a proxy, both
against the real server; the pool's size is the client's ``max_pool_connections``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pynamodb.attributes import NumberAttribute

from dynaorm import ConfigurationError, Entity, Key, Table
from dynaorm.wire.async_http import connection_pool
from dynaorm.wire.async_transport import AsyncTransport

Factory = Callable[[Table], Table]
counters = Table("test-async-http-choice")


class Counter(Entity, table=counters):
    n = NumberAttribute()
    hits = NumberAttribute(default=0)
    primary = Key(pk="COUNTER#{n}", sk="COUNTER")


@pytest.fixture
def table(table_factory: Factory) -> Table:
    return table_factory(counters)


@pytest.mark.parametrize("http", ["asyncio", "httpx"])
def test_both_clients_read_and_write_the_same(table: Table, http: str) -> None:
    transport = AsyncTransport(table.transport, http=http)
    assert transport.http == http

    async def scenario() -> None:
        request = {"TableName": table.name, "Item": Counter(n=1, hits=3).to_item()}
        await transport.call("PutItem", request, idempotent=True)
        key = Counter.key(n=1).to_request()
        get = {"TableName": table.name, "Key": key, "ConsistentRead": True}
        answer = await transport.call("GetItem", get, idempotent=True)
        assert answer["Item"]["hits"] == {"N": "3"}

    asyncio.run(scenario())


def test_the_choice_comes_from_the_environment(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DYNAORM_ASYNC_HTTP", raising=False)
    assert AsyncTransport(table.transport).http == "asyncio"
    monkeypatch.setenv("DYNAORM_ASYNC_HTTP", "httpx")
    assert AsyncTransport(table.transport).http == "httpx"
    monkeypatch.setenv("DYNAORM_ASYNC_HTTP", "curl")
    with pytest.raises(ConfigurationError, match="one of asyncio, httpx, got 'curl'"):
        AsyncTransport(table.transport)


def test_the_pool_is_as_large_as_the_clients(table: Table) -> None:
    with table.override(max_pool_connections=3):
        transport = AsyncTransport(table.transport)
        assert transport._max_connections == 3

        async def scenario() -> None:
            await asyncio.gather(*(Counter.aget(n=n) for n in range(12)))
            pool = await connection_pool(transport._sender.url, 3, transport._verify)
            assert len(pool._idle) <= 3

        asyncio.run(scenario())


def test_an_endpoint_behind_a_proxy_is_sent_to_through_it(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HTTP_PROXY`` set: httpx sends through the proxy (here a loopback server that answers
    like DynamoDB), to the endpoint's absolute URL."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    # credentials from the environment: the chain would otherwise ask the instance metadata
    # service, through the proxy too
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    async def scenario() -> list[bytes]:
        seen: list[bytes] = []

        async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                seen.append(head.split(b"\r\n")[0])
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                await writer.drain()
            finally:
                writer.close()

        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        try:
            # a fresh client, made with the proxy set; nothing listens at the endpoint itself
            with table.override(endpoint_url="http://127.0.0.1:9", max_pool_connections=7):
                assert table.transport.lean is None  # the sync data plane stays on botocore
                assert AsyncTransport(table.transport, http="asyncio").http == "httpx"
                assert await Counter.aget(n=1) is None
        finally:
            server.close()
        return seen

    seen = asyncio.run(scenario())
    assert seen == [b"POST http://127.0.0.1:9/ HTTP/1.1"]
