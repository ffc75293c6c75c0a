"""Connection settings: global, per table, environment, and misconfiguration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import dynaorm
from dynaorm import ConfigurationError, Settings, Table
from dynaorm.base.settings import current_settings
from dynaorm.testing import unique_table_name


@pytest.fixture(autouse=True)
def restore_global_settings() -> Iterator[None]:
    """Whatever a test configures globally is undone afterwards."""
    previous = dynaorm.configure()
    yield
    dynaorm.configure(**attrs.asdict(previous))


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No endpoint, region, profile or credentials from the environment or AWS files."""
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "DYNAORM_ENDPOINT",
        "DYNAORM_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    # Credential lookups must not wait for an instance-metadata service.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    dynaorm.configure(endpoint_url=None, region=None)


def test_configure_returns_the_previous_settings() -> None:
    before = current_settings()
    previous = dynaorm.configure(region="eu-west-1")
    assert previous == before
    assert current_settings().region == "eu-west-1"
    assert dynaorm.configure(region=None).region == "eu-west-1"
    assert current_settings().region is None


def test_configure_rejects_unknown_settings() -> None:
    before = current_settings()
    with pytest.raises(
        ConfigurationError, match=r"unknown setting\(s\) endpoint, regoin; known: .*endpoint_url"
    ):
        dynaorm.configure(regoin="eu-west-1", endpoint="http://x")
    assert current_settings() == before


def test_configure_encodes_a_text_cursor_secret() -> None:
    dynaorm.configure(cursor_secret="s3cret")
    assert current_settings().cursor_secret == b"s3cret"


@pytest.mark.parametrize("endpoint", ["localhost:8000", "ftp://127.0.0.1:8000", "127.0.0.1"])
def test_endpoint_needs_an_http_scheme(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="must start with http:// or https://"):
        Settings(endpoint_url=endpoint).resolved()
    table = Table("test-settings-scheme", settings=Settings(endpoint_url=endpoint))
    with pytest.raises(ConfigurationError, match=f"endpoint_url '{endpoint}' must start with"):
        table.describe()


def test_bad_endpoint_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    dynaorm.configure(endpoint_url=None)
    monkeypatch.setenv("DYNAORM_ENDPOINT", "127.0.0.1:8000")
    with pytest.raises(ConfigurationError, match="must start with http://"):
        Settings().resolved()


@pytest.mark.parametrize(
    "credentials",
    [{"aws_access_key_id": "AKIA"}, {"aws_secret_access_key": "secret"}],
)
def test_half_credentials(credentials: dict[str, str]) -> None:
    with pytest.raises(
        ConfigurationError, match="set both aws_access_key_id and aws_secret_access_key, or neither"
    ):
        Settings(**credentials).resolved()


@pytest.mark.parametrize("name", ["connect_timeout", "read_timeout", "max_pool_connections"])
def test_non_positive_numbers(name: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be positive, got 0"):
        Settings(**{name: 0}).resolved()


def test_defaults_after_resolution(bare_environment: None) -> None:
    resolved = Settings().resolved()
    assert resolved.endpoint_url is None
    assert resolved.region is None
    assert (resolved.connect_timeout, resolved.read_timeout) == (5.0, 10.0)
    assert resolved.max_pool_connections == 32


def test_secrets_are_not_shown() -> None:
    text = repr(Settings(aws_access_key_id="AKIA", aws_secret_access_key="hidden"))
    assert "AKIA" in text
    assert "hidden" not in text


def test_missing_region_without_endpoint(bare_environment: None) -> None:
    table = Table("test-settings-no-region")
    with pytest.raises(
        ConfigurationError,
        match=r"no AWS region configured: pass region= to dynaorm\.configure\(\)",
    ):
        table.describe()


def test_region_from_aws_environment(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    table = Table(
        "test-settings-aws-region",
        settings=Settings(aws_access_key_id="AKIA", aws_secret_access_key="secret"),
    )
    assert table.transport.client.meta.region_name == "ap-south-1"


def test_endpoint_without_region_defaults_the_region(bare_environment: None) -> None:
    table = Table("test-settings-endpoint", settings=Settings(endpoint_url="http://127.0.0.1:9"))
    client = table.transport.client
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    # A loopback endpoint without credentials gets placeholder ones (local servers accept any).
    credentials = client._request_signer._credentials
    assert credentials is not None
    assert credentials.access_key == "dynaorm"


def test_dynaorm_region_variable(bare_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_REGION", "eu-north-1")
    assert Settings().resolved().region == "eu-north-1"
    assert Settings(region="us-west-2").resolved().region == "us-west-2"


def test_per_table_settings_override_global() -> None:
    dynaorm.configure(region="eu-west-1", endpoint_url="http://127.0.0.1:9", read_timeout=7)
    table = Table("test-settings-override", settings=Settings(region="us-west-2"))
    settings = table.transport.settings
    assert settings.region == "us-west-2"
    assert settings.endpoint_url == "http://127.0.0.1:9"
    assert settings.read_timeout == 7
    assert table.transport.client.meta.region_name == "us-west-2"
    other = Table("test-settings-global")
    assert other.transport.settings.region == "eu-west-1"


def test_transport_follows_global_changes() -> None:
    dynaorm.configure(region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    table = Table("test-settings-follow")
    assert table.transport.client.meta.region_name == "eu-west-1"
    dynaorm.configure(region="eu-central-1")
    assert table.transport.client.meta.region_name == "eu-central-1"
    table.configure(region="sa-east-1")
    assert table.settings.region == "sa-east-1"
    assert table.transport.client.meta.region_name == "sa-east-1"


def test_per_table_endpoint_is_used_for_requests(dynamodb_endpoint: str) -> None:
    dynaorm.configure(endpoint_url="http://127.0.0.1:9")  # nothing listens there
    table = Table(
        unique_table_name("test-settings-table-endpoint"),
        settings=Settings(endpoint_url=dynamodb_endpoint),
    )
    table.create()
    try:
        assert table.describe()["TableName"] == table.name
    finally:
        table.delete()


def test_dynaorm_endpoint_variable_is_honoured(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynaorm.configure(endpoint_url=None)
    monkeypatch.setenv("DYNAORM_ENDPOINT", dynamodb_endpoint)
    assert Settings().resolved().endpoint_url == dynamodb_endpoint
    table = Table(unique_table_name("test-settings-env-endpoint"))
    assert table.transport.client.meta.endpoint_url == dynamodb_endpoint
    table.create()
    try:
        assert table.exists()
    finally:
        table.delete()
    # Explicit settings win over the variable.
    assert Settings(endpoint_url="http://127.0.0.1:9").resolved().endpoint_url == (
        "http://127.0.0.1:9"
    )
