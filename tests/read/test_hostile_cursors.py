"""Cursor fuzzing: random bytes and text, truncated, bit-flipped, re-signed with another secret,
or issued for another partition or query shape. Every one raises ``InvalidCursor`` before any
request, and no cursor ever yields another partition's items."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import requests_sent

from dynaorm import (
    Entity,
    Index,
    InvalidCursor,
    Key,
    Query,
    Scan,
    ScanCheckpoint,
    ScanPage,
    ServiceError,
    Table,
    ValidationError,
)
from dynaorm.read.cursor import encode_cursor
from dynaorm.read.tokens import _derive
from dynaorm.testing import unique_table_name

SECRET = b"hostile-cursor-secret"
ROWS = 20

fuzz = Table("test-hostile-cursors", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Row(Entity, table=fuzz):
    group = UnicodeAttribute()
    n = NumberAttribute()
    tag = UnicodeAttribute()
    primary = Key(pk="GROUP#{group}", sk="ROW#{n:04d}")
    by_tag = Key(index="GSI1", pk="TAG#{tag}", sk="ROW#{n:04d}")


class Other(Entity, table=fuzz):
    group = UnicodeAttribute()
    n = NumberAttribute()
    primary = Key(pk="GROUP#{group}", sk="OTHER#{n:04d}")


QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SERVER = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def table(dynamodb_endpoint: str) -> Iterator[Table]:
    """Groups "a", "b" and "secret" of Rows (plus Others in "a"), signed with SECRET."""
    with fuzz.override(
        name=unique_table_name(fuzz.name), endpoint_url=dynamodb_endpoint, cursor_secret=SECRET
    ):
        fuzz.create(wait=True)
        try:
            with fuzz.batch_write() as batch:
                for group, tag in (("a", "t"), ("b", "t"), ("secret", "s")):
                    for n in range(ROWS):
                        batch.put(Row(group=group, n=n, tag=tag))
                for n in range(5):
                    batch.put(Other(group="a", n=n))
            yield fuzz
        finally:
            fuzz.delete(missing_ok=True, wait=False)


@pytest.fixture(scope="module")
def token(table: Table) -> str:
    """A real cursor of base(), made once for the module."""
    return a_cursor()


def base() -> Query[Row]:
    return Row.query(group="a").consistent().page_size(6)


def a_cursor() -> str:
    cursor = base().page().cursor
    assert cursor is not None
    return cursor


def unpack(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def pack(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def refused(table: Table, cursor: Any, query: Callable[[], Any] = base) -> None:
    """``cursor`` raises InvalidCursor, however it is used, and sends nothing."""
    reader = query()  # (immutable: built once, outside the count)
    with requests_sent(table) as sent:
        with pytest.raises(InvalidCursor):
            reader.page(cursor)
        with pytest.raises(InvalidCursor):
            reader.after(cursor).all()
        with pytest.raises(InvalidCursor):
            reader.after(cursor).compile()
    assert sent == []


# -- random input ----------------------------------------------------------------------------


@given(raw=st.binary(max_size=200))
@QUICK
def test_random_bytes_are_refused(table: Table, raw: bytes) -> None:
    token = pack(raw)
    assume(token)  # an empty cursor is tested with the text below
    refused(table, token)


@given(text=st.text(max_size=120))
@QUICK
def test_random_text_is_refused(table: Table, text: str) -> None:
    refused(table, text)


@pytest.mark.parametrize(
    "cursor",
    [
        b"abc",
        7,
        1.5,
        ["x"],
        {"PK": {"S": "GROUP#a"}},
        True,
        "",
        " ",
        "\x00",
        "\ud800",
        "a" * 100_000,
    ],
    ids=repr,
)
def test_values_that_are_not_cursor_text_are_refused(table: Table, cursor: Any) -> None:
    refused(table, cursor)


# -- mangled real cursors --------------------------------------------------------------------


@given(data=st.data())
@QUICK
def test_every_bit_flip_is_refused(table: Table, token: str, data: st.DataObject) -> None:
    raw = bytearray(unpack(token))
    position = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[position] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    refused(table, pack(bytes(raw)))


@given(data=st.data())
@QUICK
def test_truncated_and_extended_cursors_are_refused(
    table: Table, token: str, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(token) - 1), label="keep characters")
    refused(table, token[:cut])
    tail = data.draw(st.binary(min_size=1, max_size=40), label="appended bytes")
    refused(table, pack(unpack(token) + tail))
    refused(table, token + pack(tail))


def mac(secret: bytes, body: bytes) -> bytes:
    """The MAC a signed token carries, under the signing key derived from ``secret``."""
    return hmac.new(_derive(secret).sign, body, hashlib.sha256).digest()[:16]


@given(secret=st.binary(min_size=1, max_size=64))
@QUICK
def test_a_cursor_re_signed_with_another_secret_is_refused(
    table: Table, token: str, secret: bytes
) -> None:
    assume(secret != SECRET)
    body = unpack(token)[:-16]
    for resigned in (
        pack(body + mac(secret, body)),  # our key id, another key
        pack(body[:1] + _derive(secret).key_id + body[5:] + mac(secret, body)),  # theirs
        pack(body + hmac.new(secret, body, hashlib.sha256).digest()),  # the raw secret
    ):
        with pytest.raises(InvalidCursor, match="signature does not verify"):
            base().page(resigned)
        refused(table, resigned)


def test_the_same_position_signed_by_us_and_by_another_secret(table: Table) -> None:
    body = unpack(a_cursor())[:-16]
    ours = pack(body + mac(SECRET, body))
    assert [r.n for r in base().page(ours)] == list(range(6, 12))
    refused(table, pack(body + mac(SECRET + b"!", body)))


# -- real cursors of other queries -----------------------------------------------------------

OTHER_QUERIES: list[tuple[str, Callable[[], Any]]] = [
    ("another partition", lambda: Row.query(group="b").consistent().page_size(6)),
    ("the secret partition", lambda: Row.query(group="secret").consistent().page_size(6)),
    ("a filter", lambda: Row.query(group="a").where(Row.n >= 0).page_size(6)),
    ("a range", lambda: Row.query(group="a").range(Row.n >= 0).page_size(6)),
    ("reverse", lambda: Row.query(group="a").reverse().page_size(6)),
    ("a projection", lambda: Row.query(group="a").select(Row.tag).page_size(6)),
    ("another entity", lambda: Other.query(group="a").page_size(2)),
    ("an index", lambda: Row.by_tag.query(tag="t").page_size(6)),
    ("another index partition", lambda: Row.by_tag.query(tag="s").page_size(6)),
    ("an item collection", lambda: fuzz.partition_query(Row.primary, group="a").limit(6)),
    ("a scan", lambda: Row.scan().page_size(6)),
    ("a scan segment", lambda: segment_with_rows()),
]


def segment_with_rows() -> Any:
    """A segment of a two-segment scan that has items (servers split tables differently)."""
    for segment in (0, 1):
        scan = Row.scan().segment(segment, of=2).page_size(1)
        if scan.page().cursor is not None:
            return scan
    raise AssertionError("neither scan segment returned a cursor")


@pytest.mark.parametrize("build", [q[1] for q in OTHER_QUERIES], ids=[q[0] for q in OTHER_QUERIES])
def test_cursors_of_other_queries_are_refused_both_ways(
    table: Table, build: Callable[[], Any]
) -> None:
    foreign = build().page().cursor
    assert foreign is not None
    refused(table, foreign)  # theirs on ours
    refused(table, a_cursor(), build)  # ours on theirs


partitions = st.sampled_from(["GROUP#a", "GROUP#b", "GROUP#secret", "GROUP#", "TAG#t"])
typed_values = st.one_of(
    st.fixed_dictionaries({"S": partitions}),
    st.fixed_dictionaries({"S": st.text(max_size=12)}),
    st.fixed_dictionaries({"N": st.sampled_from(["1", "NaN", "1e400"])}),
    st.fixed_dictionaries({"S": st.integers()}),
    st.text(max_size=5),
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
key_shaped = st.fixed_dictionaries(
    {
        "PK": st.fixed_dictionaries({"S": st.just("GROUP#a") | partitions}),
        "SK": st.fixed_dictionaries({"S": st.text(max_size=12) | st.just("ROW#0003")}),
    }
)
any_shape = st.dictionaries(
    st.sampled_from(["PK", "SK", "GSI1PK", "GSI1SK", "_type", "x"]), typed_values, max_size=4
)


def read_forged(table: Table, position: dict[str, Any]) -> list[Row] | None:
    """Read ``base()`` after ``position``, signed with the real secret (as if it had leaked).

    Returns the rows, or ``None`` when the cursor cannot be made (a value the format cannot
    carry) or was refused: by dynaorm before any request
    (InvalidCursor: another partition, or outside the query's sort-key range), or by the
    server (a ValidationException, for a position dynaorm's checks let through).
    """
    query = base()
    try:
        forged = encode_cursor(SECRET, query._plan().digest, position)
    except ValidationError:
        # The token format carries only non-empty S, N and B values: such a position cannot
        # be signed at all, even with the secret.
        event("cannot be put in a cursor")
        return None
    with requests_sent(table) as sent:
        try:
            rows = query.after(forged).all()
        except InvalidCursor:
            event("refused by dynaorm")
            assert sent == []
            return None
        except ServiceError as exc:
            refusal = exc
        else:
            event("read")
            return rows
    event("refused by the server")
    assert refusal.code == "ValidationException"
    assert position["PK"] == {"S": "GROUP#a"}  # never sent for another partition
    return None


@given(position=key_shaped | any_shape)
@SERVER
def test_positions_signed_with_the_secret_stay_in_the_partition(
    table: Table, position: dict[str, Any]
) -> None:
    """Defence in depth: even a correctly signed position cannot leave the query's partition."""
    rows = read_forged(table, position)
    assert rows is None or all(r.group == "a" for r in rows)


@given(sort_key=st.text(max_size=16))
@SERVER
def test_any_signed_sort_position_in_the_partition_reads_only_that_partition(
    table: Table, sort_key: str
) -> None:
    rows = read_forged(table, {"PK": {"S": "GROUP#a"}, "SK": {"S": sort_key}})
    if rows is not None:
        assert all(r.group == "a" for r in rows)
        assert [r.n for r in rows] == sorted(r.n for r in rows)


def test_a_signed_position_outside_the_sort_range_is_refused_before_any_request(
    table: Table,
) -> None:
    query = Row.query(group="a").range(Row.n >= 10).consistent()
    digest = query._plan().digest
    for sort_key in ("ROW#0003", "ROW#", "OTHER#0001", "ZZZ", "GROUP#a"):
        forged = encode_cursor(SECRET, digest, {"PK": {"S": "GROUP#a"}, "SK": {"S": sort_key}})
        with requests_sent(table) as sent, pytest.raises(InvalidCursor, match="sort-key range"):
            query.after(forged).all()
        assert sent == []
    inside = encode_cursor(SECRET, digest, {"PK": {"S": "GROUP#a"}, "SK": {"S": "ROW#0012"}})
    assert [r.n for r in query.after(inside).all()] == list(range(13, ROWS))


# -- paging with real cursors ----------------------------------------------------------------


def test_paging_with_real_cursors_reads_the_partition_exactly_once(table: Table) -> None:
    seen: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        page = base().page(cursor)
        seen += [(r.group, r.n) for r in page]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [("a", n) for n in range(ROWS)]


@given(text=st.text(max_size=200))
@QUICK
def test_scan_checkpoints_of_random_text_are_refused(table: Table, text: str) -> None:
    with requests_sent(table) as sent, pytest.raises(InvalidCursor):
        list(Row.scan().resume(text))
    assert sent == []


def test_scan_checkpoints_with_foreign_cursors_are_refused(table: Table) -> None:
    query_cursor = a_cursor()
    checkpoint = ScanCheckpoint(2, (query_cursor, None), (False, False))
    with requests_sent(table) as sent:
        with pytest.raises(InvalidCursor):
            list(Row.scan().segments(2).resume(checkpoint))
        # A checkpoint built by hand is not bound to any scan: it cannot be saved.
        with pytest.raises(ValidationError, match="taken from a scan"):
            checkpoint.dumps()
    assert sent == []


# -- signed checkpoints ----------------------------------------------------------------------

HEADER = 1 + 4 + 4 + 16  # format, key id, issue time, digest


def first_pages(scan: Scan[Row] | None = None) -> tuple[list[Row], ScanPage[Row]]:
    """The items delivered until a page leaves a segment under way, and that page, of a
    two-segment scan (one worker: the segments are read in turn, whatever the server puts
    in each)."""
    pages = (scan or Row.scan()).segments(2, workers=1).page_size(3).pages()
    delivered: list[Row] = []
    try:
        for page in pages:
            delivered += page.items
            if 1 in states(page.checkpoint.dumps()):
                return delivered, page
    finally:
        pages.close()
    raise AssertionError("no page left a segment under way")


def saved_checkpoint() -> str:
    return first_pages()[1].checkpoint.dumps()


def states(token: str) -> list[int]:
    """Each segment's state in a signed checkpoint: 0 not started, 1 under way, 2 done."""
    return [part[0] for part in segments_of(unpack(token)[HEADER:-16])]


def segments_of(body: bytes) -> list[bytes]:
    """Each segment's part of a (short) checkpoint body: its state byte and position."""
    assert body[0] < 0x80
    parts, at = [], 1
    for _ in range(body[0]):
        start = at
        state = body[at]
        at += 1
        if state == 1:
            attributes = body[at]
            at += 1
            for _ in range(attributes):
                at += 1 + body[at]  # name
                at += 1  # type
                at += 1 + body[at]  # value
        parts.append(body[start:at])
    assert at == len(body)
    return parts


def edited(token: str, edit: Callable[[list[bytes]], list[bytes]]) -> tuple[str, str]:
    """``token`` with its segments edited: as is (the old MAC), and re-signed with SECRET."""
    raw = unpack(token)
    header, body = raw[:HEADER], raw[HEADER:-16]
    parts = edit(segments_of(body))
    new = header + bytes([len(parts)]) + b"".join(parts)
    return pack(new + raw[-16:]), pack(new + mac(SECRET, new))


def checkpoint_refused(table: Table, text: str, match: str) -> None:
    with requests_sent(table) as sent:
        with pytest.raises(InvalidCursor, match=match):
            list(Row.scan().resume(text))
        with pytest.raises(InvalidCursor, match=match):
            ScanCheckpoint.loads(text, Row.scan())
    assert sent == []


def test_a_saved_checkpoint_resumes(table: Table) -> None:
    delivered, page = first_pages()
    text = page.checkpoint.dumps()
    assert 1 in states(text)  # a segment under way
    rest = Row.scan().resume(text).all()
    assert sorted((r.group, r.n) for r in [*delivered, *rest]) == sorted(
        (g, n) for g in ("a", "b", "secret") for n in range(ROWS)
    )


def test_an_edited_checkpoint_is_refused_before_any_request(table: Table) -> None:
    text = saved_checkpoint()
    started = states(text).index(1)

    def mark_done(parts: list[bytes]) -> list[bytes]:
        return [b"\x02" for _ in parts]  # "done": [true, true]

    def null_cursor(parts: list[bytes]) -> list[bytes]:
        return [b"\x00" if i == started else p for i, p in enumerate(parts)]

    def one_more(parts: list[bytes]) -> list[bytes]:
        return [*parts, b"\x00"]

    def one_less(parts: list[bytes]) -> list[bytes]:
        return parts[:1]

    for edit in (mark_done, null_cursor, one_more, one_less):
        as_is, resigned = edited(text, edit)
        checkpoint_refused(table, as_is, "signature does not verify")
        if edit in (one_more, one_less):
            # Even signed with the real secret, another segment count is another scan.
            checkpoint_refused(table, resigned, "belongs to another scan")


def test_every_byte_change_of_a_checkpoint_is_refused(table: Table) -> None:
    raw = unpack(saved_checkpoint())
    with requests_sent(table) as sent:
        for position in range(len(raw)):
            for flip in (0x01, 0x80, 0xFF):
                changed = pack(raw[:position] + bytes([raw[position] ^ flip]) + raw[position + 1 :])
                with pytest.raises(InvalidCursor):
                    Row.scan().resume(changed)
    assert sent == []


def test_checkpoints_of_other_scans_and_cursors_are_refused(table: Table) -> None:
    filtered = first_pages(Row.scan().where(Row.n >= 0))[1].checkpoint.dumps()
    checkpoint_refused(table, filtered, "belongs to another scan")
    checkpoint_refused(table, a_cursor(), "not a dynaorm checkpoint")
    text = saved_checkpoint()
    checkpoint_refused(table, text[:-3], "malformed|signature does not verify")
    with requests_sent(table) as sent, pytest.raises(InvalidCursor):
        base().page(text)  # and a checkpoint is no cursor
    assert sent == []


def test_an_encrypted_checkpoint_hides_its_positions(table: Table) -> None:
    delivered, page = first_pages()
    signed = unpack(page.checkpoint.dumps())
    under_way = segments_of(signed[HEADER:-16])[states(pack(signed)).index(1)]
    values = [v for v in (b"GROUP#a", b"GROUP#b", b"GROUP#secret") if v in under_way]
    assert values  # the signed checkpoint shows the position's partition
    with table.override(encrypt_cursors=True):
        pages = Row.scan().segments(2, workers=1).page_size(3).pages()
        try:
            seen: list[Row] = []
            while len(seen) < len(delivered):  # the same pages, in the same order
                sealed = next(pages)
                seen += sealed.items
        finally:
            pages.close()
        text = sealed.checkpoint.dumps()
        raw = unpack(text)
        for value in (*values, b"ROW#"):
            assert value not in raw
        rest = Row.scan().resume(text).all()
        assert len(seen) + len(rest) == 3 * ROWS
        for position in range(len(raw)):
            changed = pack(raw[:position] + bytes([raw[position] ^ 0x04]) + raw[position + 1 :])
            with pytest.raises(InvalidCursor):
                Row.scan().resume(changed)
