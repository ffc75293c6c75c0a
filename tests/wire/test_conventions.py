"""AWS configuration conventions (regions, retry settings, sessions), errors with context, and
the DEBUG request log, against the real server of the pytest plugin."""

from __future__ import annotations

import contextlib
import gc
import logging
import urllib.request
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from hypothesis import given, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

import dynaorm
from dynaorm import (
    ConditionFailed,
    ConfigurationError,
    Entity,
    Index,
    Key,
    RetryPolicy,
    ServiceError,
    Settings,
    Table,
    TableNotFound,
    Throttled,
    TransactionCanceled,
    VersionAttribute,
    VersionConflict,
)
from dynaorm.faults import FaultInjector
from dynaorm.local import LocalDynamoDB
from dynaorm.wire.clients import cached_clients
from dynaorm.wire.retry import DEFAULT_POLICY, policy_from_aws

Factory = Callable[[Table], Table]

AWS_VARIABLES = (
    "DYNAORM_REGION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
)

notes = Table("test-conventions", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Note(Entity, table=notes):
    note_id = UnicodeAttribute()
    owner = UnicodeAttribute(default="me")
    stars = NumberAttribute(default=0)
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")
    by_owner = Key(index="GSI1", pk="OWNER#{owner}", sk="NOTE#{note_id}")


class Doc(Entity, table=notes):
    doc_id = UnicodeAttribute()
    version = VersionAttribute()
    primary = Key(pk="DOC#{doc_id}", sk="DOC")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS setting of the machine leaks in; the shared config file is an empty temp one."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))


def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """Point AWS_CONFIG_FILE at a new temporary shared config file holding ``text``."""
    path = tmp_path / f"config-{uuid.uuid4().hex}"
    path.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))


def unique_profile() -> str:
    # The profile is part of the client cache key (the file is read when a client is made),
    # so each test names its own.
    return f"p{uuid.uuid4().hex[:10]}"


def fresh(endpoint: str, **settings: Any) -> Table:
    """A table definition (not created) on ``endpoint`` with the given settings."""
    return Table(
        f"conv-{uuid.uuid4().hex[:8]}", settings=Settings(endpoint_url=endpoint, **settings)
    )


@contextlib.contextmanager
def authorizations(table: Table) -> Iterator[list[str]]:
    """The ``Authorization`` header of each request signed while the block runs (by botocore's
    SigV4 signer, which both transports use)."""
    seen: list[str] = []
    sign = SigV4Auth.add_auth

    def capture(self: SigV4Auth, request: Any) -> None:
        sign(self, request)
        value = request.headers.get("Authorization")
        seen.append(value.decode() if isinstance(value, bytes) else str(value))

    with mock.patch.object(SigV4Auth, "add_auth", capture):
        yield seen


def credential_scope(authorization: str) -> tuple[str, str]:
    """(access key id, region) of a SigV4 ``Authorization`` header."""
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    parts = scope.split("/")
    return parts[0], parts[2]


# -- regions ---------------------------------------------------------------------------------


def test_aws_region_is_honoured(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    table = fresh(dynamodb_endpoint)
    assert table.transport.client.meta.region_name == "eu-north-1"
    with authorizations(table) as seen:
        assert not table.exists()  # a real, signed request
    assert [credential_scope(a)[1] for a in seen] == ["eu-north-1"]


@pytest.mark.parametrize(
    ("setting", "environment", "expected"),
    [
        (
            "explicit",
            {"DYNAORM_REGION": "d", "AWS_REGION": "a", "AWS_DEFAULT_REGION": "x"},
            "explicit",
        ),
        (None, {"DYNAORM_REGION": "d", "AWS_REGION": "a", "AWS_DEFAULT_REGION": "x"}, "d"),
        (None, {"AWS_REGION": "a", "AWS_DEFAULT_REGION": "x"}, "a"),
        (None, {"AWS_DEFAULT_REGION": "x"}, "x"),
        (None, {}, "profile-region"),
    ],
)
def test_region_precedence(
    dynamodb_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    setting: str | None,
    environment: dict[str, str],
    expected: str,
) -> None:
    profile = unique_profile()
    config_file(tmp_path, monkeypatch, f"[profile {profile}]\nregion = profile-region\n")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    table = fresh(dynamodb_endpoint, region=setting, profile=profile)
    assert table.transport.client.meta.region_name == expected


def test_the_global_region_beats_the_environment(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAORM_REGION", "from-env")
    monkeypatch.setenv("AWS_REGION", "from-aws-env")
    previous = dynaorm.configure(region="from-configure")
    try:
        assert fresh(dynamodb_endpoint).transport.client.meta.region_name == "from-configure"
        table = fresh(dynamodb_endpoint, region="from-table")
        assert table.transport.client.meta.region_name == "from-table"
    finally:
        dynaorm.configure(region=previous.region)


def test_a_changed_aws_region_applies_to_the_next_request(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = fresh(dynamodb_endpoint)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert table.transport.client.meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert table.transport.client.meta.region_name == "eu-west-2"


# -- the standard retry settings ---------------------------------------------------------------


def test_no_aws_retry_settings_keep_the_default_policy(dynamodb_endpoint: str) -> None:
    assert fresh(dynamodb_endpoint).retry_policy is DEFAULT_POLICY


def test_aws_max_attempts_sets_the_attempts(
    table_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = table_factory(notes)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    assert table.retry_policy == RetryPolicy(max_attempts=4)
    with FaultInjector(seed=1, throttle=1.0).install(table) as faults, pytest.raises(Throttled):
        Note.get(note_id="n1")
    assert faults.stats.throttled == 4  # four attempts in all, then the give-up


def test_aws_retry_mode_standard(table_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    table = table_factory(notes)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    assert table.retry_policy == RetryPolicy(max_attempts=3, base_delay=1.0, cap=20.0)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert table.retry_policy == RetryPolicy(max_attempts=2, base_delay=1.0, cap=20.0)
    with FaultInjector(seed=1, throttle=1.0).install(table) as faults, pytest.raises(Throttled):
        Note.get(note_id="n1")
    assert faults.stats.throttled == 2
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    assert table.retry_policy == RetryPolicy(max_attempts=2)
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert table.retry_policy == RetryPolicy(max_attempts=2, base_delay=1.0, cap=20.0)


def test_shared_config_file_retry_settings(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profile = unique_profile()
    config_file(
        tmp_path,
        monkeypatch,
        f"[default]\nmax_attempts = 9\n\n[profile {profile}]\nmax_attempts = 5\n"
        "retry_mode = standard\n",
    )
    table = fresh(dynamodb_endpoint, profile=profile)
    assert table.retry_policy == RetryPolicy(max_attempts=5, base_delay=1.0, cap=20.0)
    with authorizations(table) as seen:
        assert not table.exists()  # the profile's client really sends
    assert len(seen) == 1
    # The environment beats the file, setting by setting.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    assert table.retry_policy == RetryPolicy(max_attempts=7, base_delay=1.0, cap=20.0)
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    assert table.retry_policy == RetryPolicy(max_attempts=7)
    # AWS_PROFILE names the profile just as well.
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    monkeypatch.delenv("AWS_RETRY_MODE")
    monkeypatch.setenv("AWS_PROFILE", profile)
    assert fresh(dynamodb_endpoint).retry_policy.max_attempts == 5


def test_an_explicit_policy_wins(
    table_factory: Factory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    table = table_factory(notes)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    own = RetryPolicy(max_attempts=6, base_delay=0.001)
    saved = table.retry_policy
    table.retry_policy = own
    try:
        assert table.retry_policy is own
        assert table.transport.policy is own
        with FaultInjector(seed=1, throttle=1.0, limit=3).install(table) as faults:
            assert Note.get(note_id="n1") is None  # 3 throttles ridden out under 6 attempts
        assert faults.stats.throttled == 3
    finally:
        table.retry_policy = None  # back to the AWS settings
    assert saved.max_attempts == 1
    assert table.retry_policy.max_attempts == 1
    # A per-call policy wins over the AWS settings too.
    with FaultInjector(seed=2, throttle=1.0, limit=2).install(table) as faults:
        with table.batch_write(policy=RetryPolicy(max_attempts=5, base_delay=0.001)) as batch:
            batch.put(Note(note_id="b1"))
        assert faults.stats.throttled == 2
    assert Note.get(note_id="b1") is not None
    # ... whereas under AWS_MAX_ATTEMPTS=1 one throttle is the end.
    with FaultInjector(seed=3, throttle=1.0, limit=1).install(table), pytest.raises(Throttled):
        Note.get(note_id="b1")


@pytest.mark.parametrize(
    ("name", "value"),
    [("AWS_MAX_ATTEMPTS", "0"), ("AWS_MAX_ATTEMPTS", "many"), ("AWS_RETRY_MODE", "eager")],
)
def test_invalid_aws_retry_settings_are_configuration_errors(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    table = fresh(dynamodb_endpoint)
    with pytest.raises(ConfigurationError, match=name):
        table.exists()
    # An explicit policy does not need them.
    table.retry_policy = RetryPolicy()
    assert not table.exists()


@given(st.integers(min_value=1, max_value=1000), st.sampled_from(["legacy", "Standard", None]))
def test_policy_from_aws_takes_the_attempts(attempts: int, mode: str | None) -> None:
    policy = policy_from_aws(str(attempts), mode)
    assert policy.max_attempts == attempts
    assert policy.deadline == DEFAULT_POLICY.deadline
    assert policy.base_delay == (1.0 if mode == "Standard" else DEFAULT_POLICY.base_delay)


@given(st.integers(max_value=0))
def test_policy_from_aws_refuses_fewer_than_one_attempt(attempts: int) -> None:
    with pytest.raises(ConfigurationError):
        policy_from_aws(attempts, None)


# -- sessions ----------------------------------------------------------------------------------


def botocore_session_with(key: str, region: str | None = "eu-west-3") -> Any:
    session = botocore.session.Session()
    session.set_credentials(key, f"secret-of-{key}")
    if region is not None:
        session.set_config_variable("region", region)
    return session


def test_a_botocore_session_per_table(dynamodb_endpoint: str) -> None:
    table = fresh(dynamodb_endpoint, session=botocore_session_with("AKIDSESSIONONE"))
    with authorizations(table) as seen:
        assert not table.exists()
    assert [credential_scope(a) for a in seen] == [("AKIDSESSIONONE", "eu-west-3")]


def test_a_boto3_session_in_configure(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAORM_REGION", "us-west-1")  # the session's own region wins
    session = boto3.Session(
        aws_access_key_id="AKIDBOTO3SESSION",
        aws_secret_access_key="boto3-secret",
        region_name="ap-northeast-1",
    )
    previous = dynaorm.configure(session=session)
    try:
        table = fresh(dynamodb_endpoint)
        with authorizations(table) as seen:
            assert not table.exists()
        assert [credential_scope(a) for a in seen] == [("AKIDBOTO3SESSION", "ap-northeast-1")]
        # An explicit region and explicit keys still win over the session's.
        table.configure(
            region="sa-east-1", aws_access_key_id="AKIDEXPLICIT", aws_secret_access_key="explicit"
        )
        with authorizations(table) as seen:
            assert not table.exists()
        assert [credential_scope(a) for a in seen] == [("AKIDEXPLICIT", "sa-east-1")]
    finally:
        dynaorm.configure(session=previous.session)


def test_a_session_without_a_region_uses_the_environment(
    dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    table = fresh(dynamodb_endpoint, session=botocore_session_with("AKIDNOREGION", None))
    with authorizations(table) as seen:
        assert not table.exists()
    assert [credential_scope(a) for a in seen] == [("AKIDNOREGION", "eu-central-1")]


def test_a_session_whole_round_trip(table_factory: Factory) -> None:
    table = table_factory(notes)
    table.configure(session=botocore_session_with("AKIDROUNDTRIP", None))
    Note(note_id="s1", stars=2).save()
    assert Note.get(note_id="s1").stars == 2


def test_session_and_profile_exclude_each_other(dynamodb_endpoint: str) -> None:
    table = fresh(dynamodb_endpoint, session=botocore.session.Session(), profile="other")
    with pytest.raises(ConfigurationError, match="session or a profile"):
        table.exists()


def test_a_session_must_be_a_session(dynamodb_endpoint: str) -> None:
    table = fresh(dynamodb_endpoint, session="not a session")
    with pytest.raises(ConfigurationError, match=r"boto3\.Session or a botocore session"):
        table.exists()


def test_new_sessions_replace_the_cached_client(dynamodb_endpoint: str) -> None:
    table = fresh(dynamodb_endpoint)
    assert not table.exists()
    before = cached_clients()
    previous: list[weakref.ref[Any]] = []
    for n in range(25):  # e.g. one session per credential refresh
        session = botocore_session_with(f"AKIDROTATE{n}", None)
        previous.append(weakref.ref(session))
        table.configure(session=session)
        with authorizations(table) as seen:
            assert not table.exists()
        assert credential_scope(seen[0])[0] == f"AKIDROTATE{n}"
        del session
    assert cached_clients() <= before + 1  # one slot for all of them
    gc.collect()
    assert sum(ref() is not None for ref in previous) <= 1  # only the one in use is kept


# -- errors with context -----------------------------------------------------------------------


def assert_context(error: ServiceError, operation: str, table: str | None) -> None:
    assert error.operation == operation
    assert error.table == table
    assert isinstance(error.request_id, str)
    assert error.request_id


def test_table_not_found_says_where_and_what_to_do(dynamodb_endpoint: str) -> None:
    table = fresh(dynamodb_endpoint, region="eu-west-1")

    class Orphan(Entity, table=table):
        orphan_id = UnicodeAttribute()
        primary = Key(pk="O#{orphan_id}", sk="O")

    with pytest.raises(TableNotFound) as caught:
        Orphan.get(orphan_id="1")
    text = str(caught.value)
    assert table.name in text
    assert "eu-west-1" in text
    assert dynamodb_endpoint in text
    assert "table.create()" in text
    assert "dynaorm create" in text
    assert_context(caught.value, "GetItem", table.name)
    with pytest.raises(TableNotFound) as caught:
        table.describe()
    assert_context(caught.value, "DescribeTable", table.name)


def test_every_service_error_carries_its_context(table_factory: Factory) -> None:
    table = table_factory(notes)
    Note(note_id="c1").save()
    with pytest.raises(ConditionFailed) as failed:
        Note(note_id="c1").save(condition=Note.stars > 5)
    assert_context(failed.value, "PutItem", table.name)

    doc = Doc(doc_id="d1")
    doc.save()
    stale = Doc.get(doc_id="d1")
    doc.save()
    with pytest.raises(VersionConflict) as conflict:
        stale.save()
    assert_context(conflict.value, "PutItem", table.name)

    with pytest.raises(ServiceError) as plain:  # a ValidationException from the server
        table.call(
            "GetItem", {"TableName": table.name, "Key": {"nope": {"S": "x"}}}, idempotent=True
        )
    assert type(plain.value) is ServiceError
    assert plain.value.code == "ValidationException"
    assert_context(plain.value, "GetItem", table.name)

    with FaultInjector(seed=1, throttle=1.0).install(table):
        table.retry_policy = RetryPolicy(max_attempts=1)
        try:
            with pytest.raises(Throttled) as throttled:
                Note.get(note_id="c1")
        finally:
            table.retry_policy = None
    assert_context(throttled.value, "GetItem", table.name)


@pytest.mark.requires("transactions")
def test_transaction_canceled_carries_its_context(table_factory: Factory) -> None:
    table = table_factory(notes)
    tx = table.transaction()
    tx.put(Note(note_id="t1"))
    tx.check(Note.key(note_id="t2"), Note.stars > 1)
    with pytest.raises(TransactionCanceled) as caught:
        tx.commit()
    assert_context(caught.value, "TransactWriteItems", table.name)


# -- the DEBUG request log ---------------------------------------------------------------------


def requests_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "dynaorm" and hasattr(r, "operation")]


def test_each_request_is_logged_at_debug(
    table_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    table = table_factory(notes)
    for n in range(3):
        Note(note_id=f"q{n}", owner="ann").save()
    with caplog.at_level(logging.DEBUG, logger="dynaorm"):
        Note.get(note_id="q0")
        page = Note.by_owner.query(owner="ann").page()
    get, query = requests_logged(caplog)
    assert (get.operation, get.table, get.index, get.retries) == ("GetItem", table.name, None, 0)
    assert get.capacity is None
    assert "capacity=None" in get.getMessage()
    assert get.duration > 0
    assert get.levelno == logging.DEBUG
    assert (query.operation, query.table, query.index) == ("Query", table.name, "GSI1")
    assert query.capacity == page.consumed_capacity  # whatever the server reported
    assert f"table={table.name} index=GSI1" in query.getMessage()


def test_a_batch_write_logs_its_retries(
    table_factory: Factory, fault_injector: Any, caplog: pytest.LogCaptureFixture
) -> None:
    table = table_factory(notes)
    fault_injector(table, seed=5, throttle=1.0, limit=2, operations=["BatchWriteItem"])
    policy = RetryPolicy(max_attempts=5, base_delay=0.001)
    with caplog.at_level(logging.DEBUG, logger="dynaorm"), table.batch_write(policy=policy) as b:
        for n in range(3):
            b.put(Note(note_id=f"w{n}"))
    (write,) = [r for r in requests_logged(caplog) if r.operation == "BatchWriteItem"]
    assert write.retries == 2
    assert "retries=2" in write.getMessage()
    assert write.table == table.name
    assert write.error is None


def test_a_failed_request_is_logged_with_its_error(
    dynamodb_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    table = fresh(dynamodb_endpoint)
    with caplog.at_level(logging.DEBUG, logger="dynaorm"), pytest.raises(TableNotFound):
        table.describe()
    (record,) = requests_logged(caplog)
    assert record.error == "ResourceNotFoundException"


def test_logging_costs_nothing_when_debug_is_off(
    table_factory: Factory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    table_factory(notes)
    Note(note_id="off").save()

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the request log ran with DEBUG off")

    monkeypatch.setattr("dynaorm.wire.transport._log_request", must_not_run)
    monkeypatch.setattr("dynaorm.wire.transport.table_of", must_not_run)
    with caplog.at_level(logging.INFO, logger="dynaorm"):
        assert Note.get(note_id="off") is not None
        assert len(list(Note.query(note_id="off"))) == 1
    assert requests_logged(caplog) == []


def test_the_embedded_server_leaves_other_loggers_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    werkzeug = logging.getLogger("werkzeug")
    saved = (werkzeug.level, list(werkzeug.handlers))
    werkzeug.setLevel(logging.NOTSET)
    try:
        with caplog.at_level(logging.INFO), LocalDynamoDB() as server:
            for _ in range(3):
                table = Table("absent", settings=Settings(endpoint_url=server.endpoint_url))
                assert not table.exists()
            with urllib.request.urlopen(server.endpoint_url + "/moto-api/") as answer:
                answer.read()
            assert werkzeug.level == logging.NOTSET
            assert werkzeug.handlers == saved[1]
        access = [r for r in caplog.records if "HTTP/1.1" in r.getMessage()]
        assert access == []
        assert not [r for r in caplog.records if r.name == "werkzeug"]
    finally:
        werkzeug.setLevel(saved[0])


def test_an_unknown_profile_is_a_configuration_error(dynamodb_endpoint: str) -> None:
    table = fresh(dynamodb_endpoint, profile=unique_profile())
    with pytest.raises(ConfigurationError, match="could not be found"):
        table.exists()


def test_tables_with_different_sessions_each_sign_with_their_own(dynamodb_endpoint: str) -> None:
    first = fresh(dynamodb_endpoint, session=botocore_session_with("AKIDFIRSTTABLE"))
    second = fresh(dynamodb_endpoint, session=botocore_session_with("AKIDSECONDTABLE"))
    for _ in range(3):  # one cache slot for the endpoint, yet no table takes the other's client
        for table, key in ((first, "AKIDFIRSTTABLE"), (second, "AKIDSECONDTABLE")):
            with authorizations(table) as seen:
                assert not table.exists()
            assert [credential_scope(a)[0] for a in seen] == [key]
