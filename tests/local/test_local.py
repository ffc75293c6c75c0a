"""The embedded local server."""

from __future__ import annotations

import sys

import pytest

from dynaorm import ConfigurationError, Settings, Table
from dynaorm.local import LocalDynamoDB
from dynaorm.testing import unique_table_name


def test_endpoint_url_before_start() -> None:
    server = LocalDynamoDB()
    assert not server.running
    with pytest.raises(ConfigurationError, match=r"LocalDynamoDB is not running; call start\(\)"):
        _ = server.endpoint_url
    server.stop()  # stopping a server that never started is a no-op


def test_start_and_stop() -> None:
    server = LocalDynamoDB()
    endpoint = server.start()
    try:
        assert server.running
        assert endpoint == server.endpoint_url
        assert endpoint.startswith("http://127.0.0.1:")
        assert server.port != 0
        assert server.start() == endpoint  # starting again keeps the running server
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(ConfigurationError, match="not running"):
        _ = server.endpoint_url
    server.stop()


def test_context_manager_serves_dynamodb() -> None:
    with LocalDynamoDB() as server:
        assert server.running
        table = Table(
            unique_table_name("test-local"), settings=Settings(endpoint_url=server.endpoint_url)
        )
        table.create()
        assert table.describe()["TableStatus"] == "ACTIVE"
        table.delete()
        assert not table.exists()
    assert not server.running


def test_context_manager_stops_on_error() -> None:
    server = LocalDynamoDB()
    seen_running = []

    def fail() -> None:
        with server:
            seen_running.append(server.running)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert seen_running == [True]
    assert not server.running


def test_missing_local_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto.moto_server.werkzeug_app", None)
    server = LocalDynamoDB()
    with pytest.raises(
        ConfigurationError, match=r"needs moto's server: pip install 'dynaorm\[local\]'"
    ) as caught:
        server.start()
    assert isinstance(caught.value.__cause__, ImportError)
    assert not server.running
