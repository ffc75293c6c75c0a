"""Cursors: opaque, URL-safe, signed and bound to their query; anything else is refused."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import write_all

import dynaorm
import dynaorm.read.cursor_secrets
import dynaorm.read.plan
from dynaorm import Entity, Index, InvalidCursor, Key, Query, ScanCheckpoint, Settings, Table
from dynaorm.read.cursor import decode_cursor, encode_cursor, request_digest
from dynaorm.read.cursor_secrets import cursor_secret
from dynaorm.testing import unique_table_name

cursor_table = Table("test-cursor", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Row(Entity, table=cursor_table):
    group = UnicodeAttribute()
    n = NumberAttribute()
    tag = UnicodeAttribute()
    primary = Key(pk="GROUP#{group}", sk="ROW#{n:04d}")
    by_tag = Key(index="GSI1", pk="TAG#{tag}", sk="ROW#{n:04d}")


class Other(Entity, table=cursor_table):
    group = UnicodeAttribute()
    n = NumberAttribute()
    primary = Key(pk="GROUP#{group}", sk="OTHER#{n:04d}")


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-cursor-secret")


@pytest.fixture(scope="module")
def rows(dynamodb_endpoint: str) -> Iterator[Table]:
    with cursor_table.override(
        name=unique_table_name(cursor_table.name), endpoint_url=dynamodb_endpoint
    ):
        cursor_table.create()
        try:
            entities: list[Entity] = [
                Row(group=g, n=i, tag="t" if i % 2 else "u") for g in ("a", "b") for i in range(30)
            ]
            entities += [Other(group="a", n=i) for i in range(5)]
            write_all(cursor_table, entities)
            yield cursor_table
        finally:
            cursor_table.delete(missing_ok=True, wait=False)


def base() -> Query[Row]:
    return Row.query(group="a").limit(7)


def first_cursor() -> str:
    cursor = base().page().cursor
    assert cursor is not None
    return cursor


def test_a_cursor_is_url_safe_and_resumes_exactly(rows: Table) -> None:
    cursor = first_cursor()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert [r.n for r in base().after(cursor).page()] == list(range(7, 14))
    # Limit, page size and consistency do not move the position: the cursor still fits.
    assert [r.n for r in base().limit(3).page_size(2).consistent().page(cursor)] == [7, 8, 9]


def flip(token: str, position: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.index(token[position]) + 1) % len(alphabet)]
    return token[:position] + replacement + token[position + 1 :]


def test_every_flipped_character_is_refused(rows: Table) -> None:
    cursor = first_cursor()
    for position in range(len(cursor)):
        with pytest.raises(InvalidCursor):
            base().page(flip(cursor, position))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1],
        lambda c: c[:-4],
        lambda c: c[: len(c) // 2],
        lambda c: c[:10],
        lambda c: c[1:],
        lambda c: "",
        lambda c: c + "A",
        lambda c: c + "=",
        lambda c: c.replace("-", "+") + "!" if "-" in c else c + "/",
        lambda c: "not a cursor",
    ],
    ids=["-1", "-4", "half", "head", "shifted", "empty", "longer", "padded", "std-b64", "text"],
)
def test_truncated_or_malformed_cursors_are_refused(
    rows: Table, mangle: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidCursor):
        base().after(mangle(first_cursor())).page()


FOREIGN: list[tuple[str, Callable[[], Any]]] = [
    ("another partition", lambda: Row.query(group="b").limit(7)),
    ("another filter", lambda: Row.query(group="a").where(Row.n > 2).limit(7)),
    ("another range", lambda: Row.query(group="a").range(Row.n >= 0).limit(7)),
    ("another direction", lambda: Row.query(group="a").reverse().limit(7)),
    ("another projection", lambda: Row.query(group="a").select(Row.tag).limit(7)),
    ("another entity", lambda: Other.query(group="a").limit(7)),
    ("another index", lambda: Row.by_tag.query(tag="t").limit(7)),
    ("an item collection", lambda: rows_partition()),
    ("a scan", lambda: Row.scan().limit(7)),
]


def rows_partition() -> Any:
    return cursor_table.partition_query(Row.primary, group="a").limit(7)


@pytest.mark.parametrize("build", [f[1] for f in FOREIGN], ids=[f[0] for f in FOREIGN])
def test_a_cursor_reused_on_another_query_is_refused(rows: Table, build: Callable[[], Any]) -> None:
    cursor = first_cursor()
    with pytest.raises(InvalidCursor, match="belongs to another query"):
        build().page(cursor)
    with pytest.raises(InvalidCursor):
        build().after(cursor).compile()


def test_another_secret_is_refused(rows: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = first_cursor()
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "rotated")
    with pytest.raises(InvalidCursor, match="signature does not verify"):
        base().page(cursor)


def test_a_signed_position_in_another_partition_is_still_refused(rows: Table) -> None:
    """Defence in depth: even a correctly signed cursor must point into the query's partition."""
    query = base()
    plan = query._plan()
    foreign = {"PK": {"S": "GROUP#b"}, "SK": {"S": "ROW#0003"}}
    forged = encode_cursor(cursor_secret(), plan.digest, foreign)
    with pytest.raises(InvalidCursor, match="another partition"):
        query.page(forged)
    misshapen = encode_cursor(cursor_secret(), plan.digest, {"PK": {"S": "GROUP#a"}})
    with pytest.raises(InvalidCursor, match="does not fit this query's keys"):
        query.page(misshapen)


def test_codec_round_trip_and_digest_ignores_paging_members() -> None:
    digest = request_digest({"TableName": "t", "FilterExpression": "x", "Limit": 5})
    assert digest == request_digest({"TableName": "t", "FilterExpression": "x", "Limit": 9})
    assert digest != request_digest({"TableName": "t", "FilterExpression": "y"})
    token = encode_cursor(b"k", digest, {"PK": {"S": "é#1"}})
    assert decode_cursor(b"k", token, digest) == {"PK": {"S": "é#1"}}
    with pytest.raises(InvalidCursor, match="another query"):
        decode_cursor(b"k", token, b"x" * 16)


def test_checkpoint_text_is_checked() -> None:
    old_json = '{"v":1,"segments":2,"cursors":[null],"done":[false,false]}'
    for text in ["", "{}", "[]", old_json, "AAAA", first_cursor_shape()]:
        with pytest.raises(InvalidCursor):
            ScanCheckpoint.loads(text, Row.scan())
    with pytest.raises(InvalidCursor, match="older dynaorm version"):
        Row.scan().resume(old_json)
    with pytest.raises(InvalidCursor):
        Row.scan().resume("garbage")


def first_cursor_shape() -> str:
    """A valid cursor (not a checkpoint) of a sequential scan."""
    plan = Row.scan()._plan()
    return encode_cursor(cursor_secret(), plan.digest, {"PK": {"S": "A"}, "SK": {"S": "B"}})


def test_a_segment_cursor_does_not_fit_another_segment(rows: Table) -> None:
    page = Row.scan().segment(0, of=2).page_size(3).page()
    assert page.cursor is not None
    with pytest.raises(InvalidCursor, match="another query"):
        Row.scan().segment(1, of=2).page(page.cursor)
    swapped = ScanCheckpoint(2, (None, page.cursor), (False, False))
    with pytest.raises(InvalidCursor):
        list(Row.scan().resume(swapped))


# -- the secret ------------------------------------------------------------------------------


def test_secret_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "from-env")
    assert cursor_secret() == b"from-env"
    previous = dynaorm.configure(cursor_secret="from-configure")
    try:
        assert cursor_secret() == b"from-configure"
        assert cursor_secret(Settings(cursor_secret=b"from-table")) == b"from-table"
    finally:
        dynaorm.configure(cursor_secret=previous.cursor_secret)


def test_without_a_secret_a_local_endpoint_gets_one_random_secret_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Changed: this used to warn, and applied to every endpoint; now it is only for local
    endpoints (any other refuses, see test_cursor_tokens.py), and it is silent."""
    monkeypatch.delenv("DYNAORM_CURSOR_SECRET")
    monkeypatch.setattr(dynaorm.read.cursor_secrets, "_process_secret", None)
    local = Settings(endpoint_url="http://127.0.0.1:1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        secret = cursor_secret(local)
        assert len(secret) == 32
        assert cursor_secret(local) == secret  # made once per process
        assert cursor_secret(Settings(endpoint_url="http://[::1]:8000")) == secret
        assert cursor_secret(Settings(endpoint_url="http://localhost:8000")) == secret
    assert dynaorm.read.cursor_secrets.cursor_keys(local).ephemeral


def test_reads_that_take_no_cursor_need_no_secret(
    rows: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_keys(settings: Settings | None = None) -> Any:
        raise AssertionError("cursor keys were resolved")

    monkeypatch.setattr(dynaorm.read.plan, "cursor_keys", no_keys)
    assert len(Row.query(group="a").limit(7).all()) == 7
    assert len(list(Row.scan().segments(2).page_size(5).pages())) > 2
    page = Row.query(group="a").limit(7).page()
    with pytest.raises(AssertionError, match="resolved"):
        assert page.cursor is not None  # signed on first use


def test_cursor_digests_are_what_they_were() -> None:
    # Cursors already handed out stay valid: the digest's JSON text did not change when the
    # encoder moved here (the value below is the one of the earlier encoder).
    request = {
        "TableName": "t",
        "Key": {"PK": {"B": b"\x00\xff"}},
        "ExpressionAttributeValues": {":v0": {"BS": [b"a", b"b"]}, ":v1": {"S": "héllo"}},
        "Limit": 5,
    }
    digest = request_digest(request, kind="query", entity="Order")
    assert digest.hex() == "d7552952e09adddc462ce4ac2edcafc3"
