"""Cursors for API clients: key rotation, expiry, encryption, the multi-process default, and
the token codec's round-trip property."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import fresh_table, requests_sent, write_all

import dynaorm
import dynaorm.read.tokens
from dynaorm import ConfigurationError, Entity, InvalidCursor, Key, Query, Settings, Table
from dynaorm.read.cursor import decode_cursor, encode_cursor
from dynaorm.read.cursor_secrets import cursor_keys, is_local_endpoint, mark_local_endpoint
from dynaorm.read.positions import (
    decode_position,
    encode_position,
    positions_body,
    read_positions_body,
)
from dynaorm.read.tokens import CursorKeys

ROOT = Path(__file__).resolve().parents[2]  # the repository
tokens = Table("test-cursor-tokens")
EMAIL = "ada.lovelace@example.com"


class Visit(Entity, table=tokens):
    email = UnicodeAttribute()
    n = NumberAttribute()
    primary = Key(pk="CUSTOMER#{email}", sk="VISIT#{n:04d}")


class Clock:
    """An injectable time source (seconds since the epoch)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "DYNAORM_CURSOR_SECRET",
        "DYNAORM_CURSOR_SECRETS",
        "DYNAORM_ENCRYPT_CURSORS",
        "DYNAORM_CURSOR_MAX_AGE",
    ):
        monkeypatch.delenv(name, raising=False)
    previous = dynaorm.configure()
    yield
    dynaorm.configure(**attrs.asdict(previous))


@pytest.fixture(scope="module")
def table(dynamodb_endpoint: str) -> Iterator[Table]:
    with fresh_table(tokens, dynamodb_endpoint):
        write_all(tokens, [Visit(email=EMAIL, n=n) for n in range(12)])
        yield tokens


def visits() -> Query[Visit]:
    return Visit.query(email=EMAIL).limit(4)


def cursor_of(query: Query[Visit]) -> str:
    cursor = query.page().cursor
    assert cursor is not None
    return cursor


def numbers(query: Query[Visit]) -> list[int]:
    return [int(v.n) for v in query.all()]


def refused(table: Table, query: Query[Visit], cursor: str, match: str | None) -> None:
    with requests_sent(table) as sent, pytest.raises(InvalidCursor, match=match):
        query.after(cursor).all()
    assert sent == []


def unpack(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def pack(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- rotation --------------------------------------------------------------------------------


def test_a_cursor_of_the_old_key_verifies_while_it_is_listed(table: Table) -> None:
    with table.override(cursor_secret="old-secret"):  # a single secret means [secret]
        old = cursor_of(visits())
    with table.override(cursor_secrets=["new-secret", "old-secret"]):
        assert numbers(visits().after(old)) == [4, 5, 6, 7]
        new = cursor_of(visits())
        assert unpack(new)[1:5] != unpack(old)[1:5]  # signed by the newest, another key id
        assert unpack(new)[1:5] == dynaorm.read.tokens._derive(b"new-secret").key_id
        assert numbers(visits().after(new)) == [4, 5, 6, 7]
    with table.override(cursor_secrets=["new-secret"]):  # the old key is retired
        refused(table, visits(), old, "signature does not verify.*not configured")
        assert numbers(visits().after(new)) == [4, 5, 6, 7]


def test_rotation_through_the_environment(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRETS", "old-secret")
    old = cursor_of(visits())
    monkeypatch.setenv("DYNAORM_CURSOR_SECRETS", " new-secret , old-secret ")
    assert cursor_keys().secrets == (b"new-secret", b"old-secret")
    assert numbers(visits().after(old)) == [4, 5, 6, 7]
    monkeypatch.setenv("DYNAORM_CURSOR_SECRETS", "new-secret")
    refused(table, visits(), old, "signature does not verify")


def test_verification_tries_only_the_key_named_by_the_key_id() -> None:
    keys = CursorKeys((b"a", b"b", b"c"))
    token = encode_cursor(CursorKeys((b"b",)), b"d" * 16, {"PK": {"S": "x"}})
    assert keys._candidates(unpack(token)[1:5]) == [dynaorm.read.tokens._derive(b"b")]
    assert decode_cursor(keys, token, b"d" * 16) == {"PK": {"S": "x"}}


def test_secret_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        cursor_keys(Settings(cursor_secret=b"a", cursor_secrets=[b"b"]))
    with pytest.raises(ConfigurationError, match="empty secret"):
        Settings(cursor_secrets="a,,b")
    monkeypatch.setenv("DYNAORM_CURSOR_SECRETS", "a,")
    with pytest.raises(ConfigurationError, match=r"DYNAORM_CURSOR_SECRETS.*empty secret"):
        cursor_keys()
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "c")
    with pytest.raises(ConfigurationError, match="not both"):
        cursor_keys()
    monkeypatch.delenv("DYNAORM_CURSOR_SECRETS")
    assert cursor_keys().secrets == (b"c",)
    # The table's own secrets come first, then configure(), then the environment.
    dynaorm.configure(cursor_secret="g0")
    dynaorm.configure(cursor_secrets="g1,g2")  # replaces cursor_secret
    assert cursor_keys().secrets == (b"g1", b"g2")
    dynaorm.configure(cursor_secret="g3")  # and the other way round
    assert cursor_keys().secrets == (b"g3",)
    dynaorm.configure(cursor_secrets="g1,g2")
    assert cursor_keys(Settings(cursor_secret="t")).secrets == (b"t",)
    with pytest.raises(ConfigurationError, match="positive"):
        Settings(cursor_max_age=0)
    for bad in ("0", "soon", "-5"):
        monkeypatch.setenv("DYNAORM_CURSOR_MAX_AGE", bad)
        with pytest.raises(ConfigurationError, match="DYNAORM_CURSOR_MAX_AGE must be a positive"):
            cursor_keys()
    monkeypatch.setenv("DYNAORM_CURSOR_MAX_AGE", "90")
    assert cursor_keys().max_age == 90.0
    monkeypatch.setenv("DYNAORM_ENCRYPT_CURSORS", "yes")
    assert cursor_keys().encrypt
    monkeypatch.setenv("DYNAORM_ENCRYPT_CURSORS", "maybe")
    with pytest.raises(ConfigurationError, match="DYNAORM_ENCRYPT_CURSORS"):
        cursor_keys()


# -- expiry ----------------------------------------------------------------------------------


def test_a_cursor_expires_after_max_age(table: Table) -> None:
    clock = Clock()
    with table.override(cursor_secret="s", cursor_clock=clock):
        cursor = cursor_of(visits())  # issued at clock.now (cursors do not expire by default)
        clock.now += 10 * 365 * 86400
        assert numbers(visits().after(cursor)) == [4, 5, 6, 7]
    clock.now = 1_800_000_000.0
    with table.override(cursor_secret="s", cursor_clock=clock, cursor_max_age=600):
        cursor = cursor_of(visits())
        clock.now += 600
        assert numbers(visits().after(cursor)) == [4, 5, 6, 7]
        clock.now += 1
        refused(table, visits(), cursor, "expired: issued 601 s ago.*accepted for 600 s")
        # A query may ask for less, or more, than the table's rule.
        assert numbers(visits().max_age(timedelta(hours=1)).after(cursor)) == [4, 5, 6, 7]
        refused(table, visits().max_age(30), cursor, "expired")
        clock.now -= 601 + 120  # issued two minutes in the future of this clock
        refused(table, visits(), cursor, "in the future")


def test_max_age_applies_to_environment_and_scans(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setenv("DYNAORM_CURSOR_MAX_AGE", "60")
    with table.override(cursor_secret="s", cursor_clock=clock):
        page = Visit.scan().limit(3).page()
        assert page.cursor is not None
        clock.now += 61
        with requests_sent(table) as sent, pytest.raises(InvalidCursor, match="expired"):
            Visit.scan().after(page.cursor).all()
        assert sent == []
        # Checkpoints resume long jobs: they do not expire.
        pages = Visit.scan().segments(2).page_size(2).pages()
        first = next(pages)
        pages.close()
        saved = first.checkpoint.dumps()
        clock.now += 10 * 86400
        assert len(first.items) + len(Visit.scan().resume(saved).all()) == 12


def test_max_age_is_checked() -> None:
    for bad in (0, -1, True, "60", timedelta(0)):
        with pytest.raises(dynaorm.ValidationError, match="max_age"):
            visits().max_age(bad)  # type: ignore[arg-type]


# -- encryption ------------------------------------------------------------------------------


def hidden_in(token: str, value: bytes) -> bool:
    """``value`` appears neither in the token's bytes nor in its text, at any base64 offset."""
    if value in unpack(token) or value in token.encode():
        return False
    for offset in range(3):
        spelled = pack(b"\0" * offset + value)
        first, end = -(-8 * offset // 6), (8 * offset + 8 * len(value)) // 6
        core = spelled[first:end]  # the characters that only ``value`` decides
        if len(core) >= 4 and core in token:
            return False
    return True


def test_an_encrypted_cursor_reveals_no_key_value(table: Table) -> None:
    with table.override(cursor_secret="s"):
        plain = cursor_of(visits())
    with table.override(cursor_secret="s", encrypt_cursors=True):
        sealed = cursor_of(visits())
        assert numbers(visits().after(sealed)) == [4, 5, 6, 7]
        assert numbers(visits().after(plain)) == [4, 5, 6, 7]  # signed ones still verify
    values = [EMAIL, f"CUSTOMER#{EMAIL}", "VISIT#0003", "ada", "lovelace", "example", "0003"]
    assert not hidden_in(plain, EMAIL.encode())  # a signed cursor shows its keys
    for value in values:
        assert hidden_in(sealed, value.encode()), value
    assert len(sealed) - len(plain) == 16  # the nonce, in base64


def test_every_single_byte_change_of_an_encrypted_cursor_is_refused(table: Table) -> None:
    with table.override(cursor_secret="s", encrypt_cursors=True):
        sealed = cursor_of(visits())
        plan = visits()._plan()
        keys = plan.keys()
        raw = unpack(sealed)
        for position in range(len(raw)):
            for value in range(256):
                if value == raw[position]:
                    continue
                changed = pack(raw[:position] + bytes([value]) + raw[position + 1 :])
                with pytest.raises(InvalidCursor):
                    decode_cursor(keys, changed, plan.digest)
        for position in range(0, len(raw), 7):  # the query path: refused, nothing sent
            changed = pack(raw[:position] + bytes([raw[position] ^ 0x40]) + raw[position + 1 :])
            refused(table, visits(), changed, None)


def test_encryption_without_the_extra_is_a_clear_error(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    with table.override(cursor_secret="s", encrypt_cursors=True):
        sealed = cursor_of(visits())
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    monkeypatch.setitem(sys.modules, "cryptography.exceptions", None)
    with table.override(cursor_secret="s", encrypt_cursors=True):
        page = visits().page()
        with pytest.raises(ConfigurationError, match=r"pip install 'dynaorm\[crypto\]'"):
            assert page.cursor
    with table.override(cursor_secret="s"):
        refused(table, visits(), sealed, r"encrypted.*dynaorm\[crypto\]")


def test_token_lengths_for_a_typical_key(table: Table) -> None:
    """The figures of docs/queries.md: a key of an e-mail partition and a short sort key."""
    position = {"PK": {"S": f"CUSTOMER#{EMAIL}"}, "SK": {"S": "ORDER#2024-05-01T10:00:00#o1"}}
    digest = visits()._plan().digest
    signed = encode_cursor(CursorKeys((b"s",)), digest, position)
    sealed = encode_cursor(CursorKeys((b"s",), encrypt=True), digest, position)
    v1 = len(json.dumps(position, separators=(",", ":"))) + 1 + 16 + 32
    print(f"signed {len(signed)} sealed {len(sealed)} format-1 {-(-v1 * 4 // 3)}")
    assert len(signed) == 151
    assert len(sealed) == 167


# -- the default secret ----------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from pynamodb.attributes import UnicodeAttribute
    import dynaorm
    from dynaorm import Entity, Key, Page, Table

    table = Table("multi-process")

    class Row(Entity, table=table):
        g = UnicodeAttribute()
        n = UnicodeAttribute()
        primary = Key(pk="G#{g}", sk="N#{n}")

    query = Row.query(g="a")
    try:
        if sys.argv[1] == "issue":
            plan = query._plan()  # a page's position, as a read would leave it; nothing sent
            position = {"PK": {"S": "G#a"}, "SK": {"S": "N#1"}}
            print("cursor", Page((), position=position, signer=plan.sign).cursor)
        else:
            start = query.after(sys.argv[2]).compile()["ExclusiveStartKey"]
            print("resumes", start["SK"]["S"])
    except dynaorm.DynaormError as exc:
        print(type(exc).__name__, exc)
    """
)


def child(mode: str, *args: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DYNAORM_", "AWS_", "PYTEST"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **environment,
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stderr == ""  # no warning either
    return done.stdout.strip()


# TEST-NET-1: a documentation address, never routed; nothing is sent there anyway.
REMOTE = {"DYNAORM_ENDPOINT": "http://192.0.2.1:8000", "DYNAORM_REGION": "eu-west-1"}


def test_two_processes_without_a_secret_on_a_remote_endpoint_get_a_clear_error() -> None:
    first = child("issue", **REMOTE)
    second = child("verify", "Ig" * 40, **REMOTE)
    for out in (first, second):
        assert out.startswith("ConfigurationError no cursor secret is configured for endpoint")
        assert "http://192.0.2.1:8000" in out
        assert "DYNAORM_CURSOR_SECRETS" in out
        assert "cursor_secrets" in out
    # Without any endpoint (AWS) too.
    aws = child("issue", DYNAORM_REGION="eu-west-1")
    assert aws.startswith("ConfigurationError no cursor secret is configured for AWS")


def test_two_processes_sharing_a_secret_accept_each_others_cursors() -> None:
    shared = {**REMOTE, "DYNAORM_CURSOR_SECRETS": "shared-secret"}
    kind, cursor = child("issue", **shared).split()
    assert kind == "cursor"
    assert child("verify", cursor, **shared) == "resumes N#1"
    rotated = {**shared, "DYNAORM_CURSOR_SECRETS": "newer,shared-secret"}
    assert child("verify", cursor, **rotated) == "resumes N#1"


def test_two_processes_on_a_local_endpoint_work_alone_and_say_why_they_differ() -> None:
    local = {"DYNAORM_ENDPOINT": "http://127.0.0.1:9", "DYNAORM_REGION": "eu-west-1"}
    kind, cursor = child("issue", **local).split()
    assert kind == "cursor"
    out = child("verify", cursor, **local)
    assert out.startswith("InvalidCursor")
    assert "this process signs with its own random secret" in out


PLUGIN_SESSION = textwrap.dedent(
    """
    from pynamodb.attributes import UnicodeAttribute
    from dynaorm import Entity, Key, Page, Table

    table = Table("remote-plugin")

    class Row(Entity, table=table):
        g = UnicodeAttribute()
        n = UnicodeAttribute()
        primary = Key(pk="G#{g}", sk="N#{n}")

    def test_cursors_work_with_no_configuration(dynamodb_endpoint):
        assert dynamodb_endpoint == "http://192.0.2.1:8000"
        plan = Row.query(g="a")._plan()
        position = {"PK": {"S": "G#a"}, "SK": {"S": "N#1"}}
        cursor = Page((), position=position, signer=plan.sign).cursor
        request = Row.query(g="a").after(cursor).compile()
        assert request["ExclusiveStartKey"] == position
    """
)


def test_the_pytest_plugin_needs_no_secret_on_a_remote_test_endpoint(tmp_path: Path) -> None:
    (tmp_path / "test_remote.py").write_text(PLUGIN_SESSION)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DYNAORM_", "AWS_", "PYTEST"))}
    env.update({"PYTHONPATH": str(ROOT), "DYNAORM_TEST_ENDPOINT": REMOTE["DYNAORM_ENDPOINT"]})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_remote.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_what_counts_as_a_local_endpoint(dynamodb_endpoint: str) -> None:
    for endpoint in (
        "http://localhost:8000",
        "http://127.0.0.1:1",
        "http://127.8.0.3",
        "http://[::1]:80",
    ):
        assert is_local_endpoint(endpoint), endpoint
    for endpoint in (None, "http://0.0.0.0:8000", "http://dynamodb-local:8000", "https://10.0.0.1"):
        assert not is_local_endpoint(endpoint), endpoint
    if "127.0.0.1" in dynamodb_endpoint:
        assert is_local_endpoint(dynamodb_endpoint)  # the plugin's embedded server
    # The embedded server of this process counts, wherever it listens.
    mark_local_endpoint("http://0.0.0.0:8000")
    try:
        assert is_local_endpoint("http://0.0.0.0:8000")
    finally:
        mark_local_endpoint("http://0.0.0.0:8000", local=False)
    assert not is_local_endpoint("http://0.0.0.0:8000")


# -- the codec -------------------------------------------------------------------------------

QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
values = st.one_of(
    st.builds(lambda v: {"S": v}, text),
    st.builds(lambda v: {"N": v}, st.integers().map(str) | text),
    st.builds(lambda v: {"B": v}, st.binary(min_size=1, max_size=40)),
)
positions = st.dictionaries(text, values, min_size=1, max_size=4)
key_sets = st.builds(
    CursorKeys,
    st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=3, unique=True).map(tuple),
    encrypt=st.booleans(),
)
digests = st.binary(min_size=16, max_size=16)


def other_token(data: st.DataObject, token: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    how = data.draw(st.sampled_from(["char", "cut", "extend", "byte", "random"]), label="how")
    if how == "char":
        at = data.draw(st.integers(0, len(token) - 1), label="at")
        return token[:at] + data.draw(st.sampled_from(alphabet)) + token[at + 1 :]
    if how == "cut":
        return token[: data.draw(st.integers(0, len(token) - 1), label="keep")]
    if how == "extend":
        return token + data.draw(st.text(alphabet, min_size=1, max_size=8), label="tail")
    if how == "byte":
        raw = bytearray(unpack(token))
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[at] = data.draw(st.integers(0, 255), label="value")
        return pack(bytes(raw))
    return data.draw(st.text(max_size=200), label="random text")


@given(keys=key_sets, digest=digests, position=positions, data=st.data())
@QUICK
def test_decode_of_encode_is_the_identity_and_any_other_token_is_refused(
    keys: CursorKeys, digest: bytes, position: dict[str, Any], data: st.DataObject
) -> None:
    token = encode_cursor(keys, digest, position)
    assert decode_cursor(keys, token, digest) == position
    assert decode_position(encode_position(position)) == position
    other = other_token(data, token)
    assume(other != token)
    with pytest.raises(InvalidCursor):
        decode_cursor(keys, other, digest)
    another_digest = data.draw(digests, label="another query")
    assume(another_digest != digest)
    with pytest.raises(InvalidCursor, match="another query"):
        decode_cursor(keys, token, another_digest)


@given(segments=st.lists(st.one_of(st.none(), st.just("done"), positions), min_size=1, max_size=6))
@QUICK
def test_checkpoint_bodies_round_trip(segments: list[Any]) -> None:
    where = tuple(None if s in (None, "done") else s for s in segments)
    done = tuple(s == "done" for s in segments)
    assert read_positions_body(positions_body(where, done)) == (where, done)
