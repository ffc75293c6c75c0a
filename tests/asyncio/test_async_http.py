"""dynaorm's asyncio HTTP/1.1 client (``dynaorm.wire.async_http``) against tiny loopback servers
of the test's own loop: bodies by length, chunked and up to the close; keep-alive, LIFO reuse
and ``Connection: close``; stale connections and which requests are sent again; timeouts,
cancellation, the pool's bound, TLS, and the pool closed with its loop."""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import ssl
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from hypothesis import given, settings, strategies as st

from dynaorm.wire.async_http import ConnectionPool, connection_pool, read_response, ssl_context

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
Answer = Callable[[int, bytes], Awaitable[bytes | None]]  # (request number, body) -> reply


class Server:
    """A loopback HTTP server: each request's reply comes from ``answer`` (``None``: close
    the connection without answering); it counts connections and requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.open: list[asyncio.StreamWriter] = []
        self.closed = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0, ssl=tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}/"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                reply = await self.answer(len(self.requests), body)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed += 1
            writer.close()

    def close(self, *pools: ConnectionPool) -> None:
        for pool in pools:
            pool.close()
        self.server.close()
        for writer in self.open:
            writer.close()


def by_length(body: bytes, extra: bytes = b"") -> bytes:
    return OK + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body


async def echo(_n: int, body: bytes) -> bytes:
    return by_length(body)


async def post(pool: ConnectionPool, body: bytes = b"{}", **options: Any) -> tuple[int, bytes]:
    options.setdefault("connect_timeout", 5.0)
    options.setdefault("read_timeout", 5.0)
    options.setdefault("idempotent", False)
    answer = await pool.post("/", {"X-Amz-Target": "T.GetItem"}, body, **options)
    return answer.status, answer.body


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def test_keep_alive_reuses_one_connection() -> None:
    async def scenario() -> None:
        server = Server(echo)
        pool = ConnectionPool(await server.start(), 4, None)
        for n in range(5):
            assert await post(pool, b'{"n": %d}' % n) == (200, b'{"n": %d}' % n)
        assert server.connections == 1
        head = server.requests[0].split(b"\r\n\r\n")[0].decode()
        assert head.startswith("POST / HTTP/1.1\r\nHost: 127.0.0.1:")
        assert "Content-Length: 8" in head
        assert "X-Amz-Target: T.GetItem" in head
        server.close(pool)

    run(scenario)


def test_chunked_bodies_with_extensions_and_trailers() -> None:
    async def chunked(_n: int, _body: bytes) -> bytes:
        return (
            OK + b"Transfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
        )

    async def scenario() -> None:
        server = Server(chunked)
        pool = ConnectionPool(await server.start(), 4, None)
        assert await post(pool) == (200, b"hello world")
        assert await post(pool) == (200, b"hello world")
        assert server.connections == 1  # the whole chunked body was read: reusable
        server.close(pool)

    run(scenario)


def test_connection_close_is_honoured() -> None:
    async def closing(_n: int, body: bytes) -> bytes:
        return by_length(body, b"Connection: close\r\n")

    async def scenario() -> None:
        server = Server(closing)
        pool = ConnectionPool(await server.start(), 4, None)
        for _ in range(3):
            assert await post(pool, b"x") == (200, b"x")
        assert server.connections == 3
        server.close(pool)

    run(scenario)


def test_a_body_up_to_the_close() -> None:
    async def unframed(_n: int, _body: bytes) -> bytes | None:
        return b"HTTP/1.0 500 Oops\r\n\r\nall of it"

    async def scenario() -> None:
        server = Server(unframed)
        url = await server.start()
        pool = ConnectionPool(url, 4, None)
        task = asyncio.ensure_future(post(pool))
        await asyncio.sleep(0.05)
        for writer in server.open:
            writer.close()  # the server ends the body by closing
        assert await task == (500, b"all of it")
        assert pool._idle == []
        server.close(pool)

    run(scenario)


@settings(max_examples=50, deadline=None)
@given(
    body=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=20),
    extra=st.sampled_from([b"", b"Connection: keep-alive\r\n", b"Connection: close\r\n"]),
)
def test_chunked_and_length_framings_read_the_same_body(
    body: bytes, cuts: list[int], extra: bytes
) -> None:
    chunks, rest = [], body
    for cut in cuts:
        if rest:
            chunks.append(rest[:cut])
            rest = rest[cut:]
    if rest:
        chunks.append(rest)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"

    async def parse(raw: bytes) -> tuple[int, bytes, bool, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw + b"NEXT")
        reader.feed_eof()
        response, keep = await read_response(reader)
        return response.status, response.body, keep, await reader.read()

    framed = OK + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body
    by_chunks = OK + b"Transfer-Encoding: chunked\r\n" + extra + b"\r\n" + chunked
    keep = b"close" not in extra
    assert asyncio.run(parse(framed)) == (200, body, keep, b"NEXT")
    assert asyncio.run(parse(by_chunks)) == (200, body, keep, b"NEXT")


def test_a_malformed_answer_is_a_closed_connection() -> None:
    async def garbage(_n: int, _body: bytes) -> bytes:
        return b"SMTP ready\r\n\r\n"

    async def scenario() -> None:
        server = Server(garbage)
        pool = ConnectionPool(await server.start(), 4, None)
        with pytest.raises(ConnectionClosedError):
            await post(pool)
        assert pool._idle == []
        server.close(pool)

    run(scenario)


def test_an_idle_connection_the_server_closed_is_not_used() -> None:
    async def scenario() -> None:
        server = Server(echo)
        pool = ConnectionPool(await server.start(), 4, None)
        assert await post(pool, b"a") == (200, b"a")
        for writer in server.open:
            writer.close()  # the server drops the idle keep-alive connection
        await asyncio.sleep(0.05)
        assert await post(pool, b"b", idempotent=False) == (200, b"b")  # a write: safe
        assert server.connections == 2
        assert len(server.requests) == 2
        server.close(pool)

    run(scenario)


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_reused_connection_ending_silently(idempotent: bool) -> None:
    """The server takes the request on a reused connection and closes without a byte: only an
    idempotent request is sent again (once, on a fresh connection); a write is not."""

    async def hang_up_second(n: int, body: bytes) -> bytes | None:
        return None if n == 2 else by_length(body)

    async def scenario() -> None:
        server = Server(hang_up_second)
        pool = ConnectionPool(await server.start(), 4, None)
        await post(pool)
        if idempotent:
            assert await post(pool, b"again", idempotent=True) == (200, b"again")
            assert len(server.requests) == 3
            assert server.connections == 2
        else:
            with pytest.raises(ConnectionClosedError):
                await post(pool, b"write", idempotent=False)
            assert len(server.requests) == 2  # sent once, never again
        server.close(pool)

    run(scenario)


def test_a_fresh_connection_ending_silently_is_not_sent_again() -> None:
    async def hang_up(_n: int, _body: bytes) -> None:
        return None

    async def scenario() -> None:
        server = Server(hang_up)
        pool = ConnectionPool(await server.start(), 4, None)
        with pytest.raises(ConnectionClosedError):
            await post(pool, idempotent=True)
        assert len(server.requests) == 1
        server.close(pool)

    run(scenario)


def test_a_read_timeout_closes_the_connection() -> None:
    async def slow_first(n: int, body: bytes) -> bytes:
        if n == 1:
            await asyncio.sleep(1.0)
        return by_length(body)

    async def scenario() -> None:
        server = Server(slow_first)
        pool = ConnectionPool(await server.start(), 4, None)
        with pytest.raises(ReadTimeoutError):
            await post(pool, read_timeout=0.1)
        assert pool._idle == []
        assert await post(pool, b"b") == (200, b"b")
        assert server.connections == 2  # the timed-out one was never reused
        server.close(pool)

    run(scenario)


def test_a_cancelled_request_closes_its_connection() -> None:
    async def scenario() -> None:
        ended = asyncio.Event()

        async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.read(65536):
                pass  # never answers
            ended.set()
            writer.close()

        server = await asyncio.start_server(swallow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool(f"http://127.0.0.1:{port}/", 4, None)
        task = asyncio.ensure_future(post(pool))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool._idle == []
        assert not pool._slots.locked()
        await asyncio.wait_for(ended.wait(), 1.0)  # the server saw it closed
        server.close()

    run(scenario)


def test_connection_failures() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(EndpointConnectionError):
            await post(ConnectionPool(f"http://127.0.0.1:{port}/", 4, None))
        listening = Server(echo)
        pool = ConnectionPool(await listening.start(), 4, None)
        with pytest.raises(ConnectTimeoutError):  # no time to connect at all
            await post(pool, connect_timeout=0.0)
        assert pool._idle == []
        assert not pool._slots.locked()
        await asyncio.sleep(0.05)  # the server's side of the connection ends too
        listening.close(pool)

    run(scenario)


def test_at_most_max_connections_and_waiters_queue() -> None:
    in_flight = []

    async def slowly(_n: int, body: bytes) -> bytes:
        in_flight.append(1)
        await asyncio.sleep(0.02)
        return by_length(body)

    async def scenario() -> None:
        server = Server(slowly)
        pool = ConnectionPool(await server.start(), 2, None)
        answers = await asyncio.gather(*(post(pool, b"%d" % n) for n in range(10)))
        assert answers == [(200, b"%d" % n) for n in range(10)]
        assert server.connections == 2
        # a waiter gives up after the connect timeout: the request was never sent
        blockers = [asyncio.ensure_future(post(pool)) for _ in range(2)]
        await asyncio.sleep(0.005)
        with pytest.raises(ConnectTimeoutError):
            await post(pool, connect_timeout=0.001)
        await asyncio.gather(*blockers)
        server.close(pool)

    run(scenario)


def test_the_loops_pools_close_with_it_and_are_never_reused() -> None:
    server = Server(echo)
    loop = asyncio.new_event_loop()
    url = loop.run_until_complete(server.start())
    pools = []
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def client() -> None:
        pool = await connection_pool(url, 4, True)
        assert pool is await connection_pool(url, 4, True)
        pools.append(pool)
        loops.append(weakref.ref(asyncio.get_running_loop()))
        assert await post(pool) == (200, b"{}")

    gc.collect()  # what earlier tests left
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            # each asyncio.run is a loop of its own; the server runs on another loop
            thread = threading.Thread(target=asyncio.run, args=(client(),))
            thread.start()
            while thread.is_alive():
                loop.run_until_complete(asyncio.sleep(0.01))
        loop.run_until_complete(asyncio.sleep(0.05))
        gc.collect()
    assert pools[0] is not pools[1]
    assert [ref() for ref in loops] == [None, None]  # the closed loops are not kept alive
    assert server.connections == 2
    assert server.closed == 2
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    server.close()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "dynaorm test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_verified_against_the_ca_bundle(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    async def scenario() -> None:
        server = Server(echo)
        url = await server.start(tls)
        pool = ConnectionPool(url, 4, ssl_context(str(cert)))  # verify=<a CA bundle path>
        assert await post(pool, b"secret") == (200, b"secret")
        assert await post(pool, b"again") == (200, b"again")
        assert server.connections == 1
        unverified = ConnectionPool(url, 4, ssl_context(False))  # verify=False
        assert await post(unverified, b"x") == (200, b"x")
        with pytest.raises(SSLError):  # botocore's own bundle does not know the test's CA
            await post(ConnectionPool(url, 4, ssl_context(True)))
        server.close(pool, unverified)

    run(scenario)
