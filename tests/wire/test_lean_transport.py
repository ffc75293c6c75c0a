"""The lean transport on the wire: it sends the data plane (and only the data plane) to the
real server, verifies response checksums, signs with fresh credentials, and steps aside for
proxies and the ``botocore`` setting."""

from __future__ import annotations

import datetime
import json
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import botocore.credentials
import botocore.session
import pytest

from dynaorm import ConfigurationError, RetryPolicy, ServiceError, Settings, Table
from dynaorm.wire.lean import LeanSender
from dynaorm.wire.transport import Transport

Factory = Callable[[Table], Table]

plain = Table("test-lean-plain")

ITEM = {
    "PK": {"S": "P#1"},
    "SK": {"S": "S#1"},
    "blob": {"B": b"\x00\xff binary"},
    "blobs": {"BS": [b"\x01", b"\x02\x03"]},
    "big": {"N": "12345678901234567890123456789012345678"},
    "nums": {"NS": ["1", "2.5"]},
    "words": {"SS": ["a", "b"]},
    "nested": {
        "M": {"B": {"S": "a map member named B"}, "l": {"L": [{"B": b"x"}, {"NULL": True}]}}
    },
    "flag": {"BOOL": False},
}


@pytest.fixture
def sent_lean() -> Iterator[list[str]]:
    """The operations the lean sender sends while the test runs."""
    operations: list[str] = []
    send = LeanSender.send

    def spy(self: LeanSender, operation: str, params: Any) -> dict[str, Any]:
        operations.append(operation)
        return send(self, operation, params)

    with mock.patch.object(LeanSender, "send", spy):
        yield operations


def test_the_data_plane_goes_lean_and_the_control_plane_through_botocore(
    table_factory: Factory, sent_lean: list[str]
) -> None:
    table = table_factory(plain)
    with table.override(transport="lean"):
        assert table.transport.lean is not None
        table.call("PutItem", {"TableName": table.name, "Item": ITEM}, idempotent=True)
        key = {"PK": ITEM["PK"], "SK": ITEM["SK"]}
        got = table.call(
            "GetItem",
            {"TableName": table.name, "Key": key, "ConsistentRead": True},
            idempotent=True,
        )
        table.call("DescribeTable", {"TableName": table.name}, idempotent=True)
    assert sent_lean == ["PutItem", "GetItem"]
    assert got["Item"]["blob"] == {"B": b"\x00\xff binary"}
    assert sorted(got["Item"]["blobs"]["BS"]) == [b"\x01", b"\x02\x03"]
    assert got["Item"]["nested"] == ITEM["nested"]
    assert got["Item"]["big"] == ITEM["big"]
    # The same bytes read back through botocore: the two transports agree on the item.
    with table.override(transport="botocore"):
        assert table.transport.lean is None
        again = table.call(
            "GetItem",
            {"TableName": table.name, "Key": key, "ConsistentRead": True},
            idempotent=True,
        )
    assert again["Item"] == got["Item"]
    assert sent_lean == ["PutItem", "GetItem"]


def test_the_setting_and_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNAORM_TRANSPORT", raising=False)
    assert Settings(region="eu-west-1").resolved().transport == "lean"  # the default
    monkeypatch.setenv("DYNAORM_TRANSPORT", "botocore")
    assert Settings(region="eu-west-1").resolved().transport == "botocore"
    assert Settings(region="eu-west-1", transport="lean").resolved().transport == "lean"
    with pytest.raises(ConfigurationError, match="transport must be one of lean, botocore"):
        Settings(region="eu-west-1", transport="fast").resolved()


def test_a_proxy_keeps_the_data_plane_on_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    given = Settings(
        endpoint_url="http://dynamo.example:8000",
        transport="lean",
        region="x-1",
        aws_access_key_id="AKID",
        aws_secret_access_key="secret",
    )
    assert Transport(given.resolved()).lean is None


# -- checksums -------------------------------------------------------------------------------


class ChecksumServer(ThreadingHTTPServer):
    """Answers every request with ``{}`` and an ``x-amz-crc32`` header, right or wrong."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ChecksumHandler)
        self.wrong = True
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _ChecksumHandler(BaseHTTPRequestHandler):
    server: ChecksumServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        body = b'{"Item": {"PK": {"S": "x"}}}'
        crc = zlib.crc32(body) + (1 if self.server.wrong else 0)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amz-crc32", str(crc & 0xFFFFFFFF))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def checksum_server() -> Iterator[ChecksumServer]:
    server = ChecksumServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_corrupted_response_is_retried_when_idempotent_and_refused_after(
    checksum_server: ChecksumServer,
) -> None:
    given = Settings(endpoint_url=checksum_server.url, transport="lean", region="eu-west-1")
    transport = Transport(given.resolved(), RetryPolicy(max_attempts=3, base_delay=0.001))
    request = {"TableName": "t", "Key": {"PK": {"S": "x"}}}
    with pytest.raises(ServiceError, match="crc32"):
        transport.call("GetItem", request, idempotent=True)
    assert checksum_server.requests == 3
    with pytest.raises(ServiceError, match="crc32"):
        transport.call("PutItem", {"TableName": "t", "Item": {}}, idempotent=False)
    assert checksum_server.requests == 4  # a write the server may have applied: not re-sent
    checksum_server.wrong = False
    assert transport.call("GetItem", request, idempotent=True)["Item"] == {"PK": {"S": "x"}}


# -- credentials -----------------------------------------------------------------------------


def test_refreshing_credentials_are_asked_for_on_every_request() -> None:
    generation = iter(range(1, 100))

    def refresh() -> dict[str, str]:
        n = next(generation)
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        return {
            "access_key": f"AKID{n}",
            "secret_key": f"secret{n}",
            "token": f"token{n}",
            "expiry_time": expires.isoformat(),
        }

    credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
        refresh(), refresh, "test"
    )
    session = botocore.session.Session()
    session._credentials = credentials
    given = Settings(session=session, region="eu-west-1", transport="lean")
    lean = Transport(given.resolved()).lean
    assert lean is not None

    def signed_key() -> str:
        header = lean.sign("GetItem", json.dumps({}).encode()).headers["Authorization"]
        text = header.decode() if isinstance(header, bytes) else str(header)
        return text.split("Credential=", 1)[1].split("/", 1)[0]

    assert signed_key() == "AKID1"
    credentials._expiry_time = datetime.datetime.now(datetime.UTC)  # due for a refresh
    assert signed_key() == "AKID2"
