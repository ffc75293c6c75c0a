"""Scans: entity and table scans, parallel segments, checkpoints, read-rate limiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import hooked, write_all

from dynaorm import (
    Entity,
    Index,
    Key,
    Scan,
    ScanCheckpoint,
    ScanPage,
    Table,
    TableNotFound,
    UnknownEntityType,
    UnknownItem,
    ValidationError,
)
from dynaorm.testing import unique_table_name
from dynaorm.wire.hooks import Attempt

N_ITEMS = 5000
N_SMALL = 300
BUCKETS = 100

bulk_table = Table("test-scan-bulk")
scan_table = Table("test-scan", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Bulk(Entity, table=bulk_table):
    bucket = NumberAttribute()
    n = NumberAttribute()
    primary = Key(pk="BUCKET#{bucket:03d}", sk="ITEM#{n:05d}")


class Item(Entity, table=scan_table):
    bucket = NumberAttribute()
    n = NumberAttribute()
    colour = UnicodeAttribute()
    primary = Key(pk="BUCKET#{bucket:03d}", sk="ITEM#{n:05d}")
    by_colour = Key(index="GSI1", pk="COLOUR#{colour}", sk="ITEM#{n:05d}")


class Marker(Entity, table=scan_table):
    bucket = NumberAttribute()
    primary = Key(pk="BUCKET#{bucket:03d}", sk="MARKER")


def colour(n: int) -> str:
    return ("red", "green", "blue")[n % 3]


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-scan-secret")


@pytest.fixture(scope="module")
def bulk(dynamodb_endpoint: str) -> Iterator[Table]:
    """5,000 items over 100 partitions (the embedded server takes ~1 s per full pass)."""
    with bulk_table.override(
        name=unique_table_name(bulk_table.name), endpoint_url=dynamodb_endpoint
    ):
        bulk_table.create()
        try:
            write_all(bulk_table, [Bulk(bucket=n % BUCKETS, n=n) for n in range(N_ITEMS)])
            yield bulk_table
        finally:
            bulk_table.delete(missing_ok=True, wait=False)


@pytest.fixture(scope="module")
def small(dynamodb_endpoint: str) -> Iterator[Table]:
    """300 items over 100 partitions, 10 markers, one item of an unknown type."""
    with scan_table.override(
        name=unique_table_name(scan_table.name), endpoint_url=dynamodb_endpoint
    ):
        scan_table.create()
        try:
            entities: list[Entity] = [
                Item(bucket=n % BUCKETS, n=n, colour=colour(n)) for n in range(N_SMALL)
            ]
            entities += [Marker(bucket=b) for b in range(10)]
            write_all(scan_table, entities)
            ghost = {"PK": {"S": "X"}, "SK": {"S": "Y"}, "_type": {"S": "Ghost"}}
            scan_table.call(
                "PutItem", {"TableName": scan_table.name, "Item": ghost}, idempotent=True
            )
            yield scan_table
        finally:
            scan_table.delete(missing_ok=True, wait=False)


def numbers(items: Iterator[Any] | Sequence[Any]) -> list[int]:
    return [int(i.n) for i in items]


def test_a_four_segment_parallel_scan_returns_exactly_the_full_set(bulk: Table) -> None:
    pages = list(Bulk.scan().segments(4).page_size(400).pages())
    found = numbers(i for p in pages for i in p.items)
    assert len(found) == N_ITEMS
    assert set(found) == set(range(N_ITEMS))
    assert {p.segment for p in pages} == {0, 1, 2, 3}
    assert all(isinstance(p, ScanPage) for p in pages)
    assert pages[-1].checkpoint is not None
    assert pages[-1].checkpoint.finished


def test_a_resumed_scan_finishes_the_set(bulk: Table) -> None:
    scan = Bulk.scan().segments(4).page_size(300)
    delivered: list[int] = []
    checkpoint: ScanCheckpoint | None = None
    for index, page in enumerate(scan.pages()):
        delivered += numbers(page.items)
        checkpoint = page.checkpoint
        if index == 4:
            break  # e.g. the process stops here, having saved the checkpoint
    assert checkpoint is not None
    assert not checkpoint.finished
    text = checkpoint.dumps()
    rest = numbers(Bulk.scan().page_size(300).resume(text))
    assert len(delivered) + len(rest) == N_ITEMS
    assert set(delivered) | set(rest) == set(range(N_ITEMS))
    done = ScanCheckpoint(4, ScanCheckpoint.loads(text, Bulk.scan()).cursors, (True,) * 4)
    assert list(Bulk.scan().resume(done)) == []


def test_parallel_iteration_and_count(small: Table) -> None:
    assert sorted(numbers(Item.scan().segments(4, workers=2).page_size(40))) == list(range(N_SMALL))
    assert Item.scan().segments(4).count() == N_SMALL
    assert Item.scan().where(Item.colour == "red").segments(3).page_size(50).count() == N_SMALL // 3
    assert Item.scan().segments(4).limit(10).count() == 10


def test_a_limit_cuts_mid_page_and_the_checkpoint_resumes_right_after(small: Table) -> None:
    scan = Item.scan().where(Item.colour != "blue").segments(4).page_size(25)
    pages = list(scan.limit(77).pages())
    first = numbers(i for p in pages for i in p.items)
    assert len(first) == 77
    checkpoint = pages[-1].checkpoint
    assert checkpoint is not None
    rest = numbers(scan.resume(checkpoint))
    expected = {n for n in range(N_SMALL) if colour(n) != "blue"}
    assert len(first) + len(rest) == len(expected)
    assert set(first) | set(rest) == expected


def test_a_sequential_scan_pages_with_cursors_and_checkpoints(small: Table) -> None:
    scan = Item.scan().where(Item.bucket < 50).page_size(70)
    expected = [n for n in range(N_SMALL) if n % BUCKETS < 50]
    page = scan.limit(20).page()
    assert len(page) == 20
    assert page.cursor is not None
    rest = scan.after(page.cursor).all()
    assert sorted(numbers(page) + numbers(rest)) == expected
    pages = list(scan.pages())
    assert all(p.segment is None for p in pages)
    assert pages[0].checkpoint is not None
    assert pages[0].checkpoint.total_segments == 1
    resumed = numbers(scan.resume(pages[0].checkpoint))
    assert sorted(numbers(pages[0]) + resumed) == expected


def test_a_resumed_scan_counts_what_is_left(small: Table) -> None:
    """count() of a resumed scan reads each segment as the checkpoint's scan did (a sequential
    scan's checkpoint used to be counted as segment 0 of 1, and its cursor refused)."""
    for scan in (Item.scan().page_size(70), Item.scan().segments(3).page_size(40)):
        pages = scan.pages()
        first = next(pages)
        pages.close()
        text = first.checkpoint.dumps()
        assert scan.resume(text).count() == N_SMALL - len(first)
        assert Item.scan().resume(text).count() == N_SMALL - len(first)


def test_segments_one_at_a_time_cover_the_table(small: Table) -> None:
    found: list[int] = []
    for segment in range(3):
        query = Item.scan().segment(segment, of=3).page_size(60)
        cursor = None
        while True:
            page = query.page(cursor)
            found += numbers(page)
            cursor = page.cursor
            if cursor is None:
                break
    assert sorted(found) == list(range(N_SMALL))


def test_entity_and_table_scans_are_typed(small: Table) -> None:
    markers = Marker.scan().all()
    assert sorted(int(m.bucket) for m in markers) == list(range(10))
    everything = small.scan().segments(2).all()
    assert len(everything) == N_SMALL + 10 + 1
    ghosts = [i for i in everything if isinstance(i, UnknownItem)]
    assert [g.type_name for g in ghosts] == ["Ghost"]
    assert sum(isinstance(i, Item) for i in everything) == N_SMALL
    with pytest.raises(UnknownEntityType, match="Ghost"):
        small.scan(strict=True).all()
    only = small.scan(types=[Marker]).all()
    assert len(only) == 10
    assert all(isinstance(m, Marker) for m in only)


def test_projected_index_scan(small: Table) -> None:
    reds = Item.scan(index="GSI1").where(Item.colour == "red").select(Item.colour).page_size(90)
    found = reds.all()
    assert sorted(numbers(found)) == list(range(0, N_SMALL, 3))
    # Every attribute was selected or restored from the keys, so the results are whole.
    assert all(i.colour == "red" and not i.is_partial for i in found)
    with pytest.raises(ValidationError, match="only eventually consistent"):
        Item.scan(index="GSI1").consistent()


def test_breaking_out_of_a_parallel_scan_stops_its_workers(small: Table) -> None:
    before = threading.active_count()
    for page in Item.scan().segments(4).page_size(5).pages():
        assert page.items
        break
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= before


def test_a_worker_error_reaches_the_caller(dynamodb_endpoint: str) -> None:
    missing = Table(unique_table_name("test-scan-missing"))

    class Thing(Entity, table=missing):
        thing_id = UnicodeAttribute()
        primary = Key(pk="T#{thing_id}", sk="T")

    with missing.override(endpoint_url=dynamodb_endpoint), pytest.raises(TableNotFound):
        list(Thing.scan().segments(3))


def test_scan_misuse_is_refused(small: Table) -> None:
    with pytest.raises(ValidationError, match="reads through pages"):
        Item.scan().segments(2).page()
    with pytest.raises(ValidationError, match="resumes from a checkpoint"):
        list(Item.scan().segments(2).after("abc"))
    with pytest.raises(ValidationError, match="segments must be"):
        Item.scan().segments(0)
    with pytest.raises(ValidationError, match="read rate must be positive"):
        Item.scan().rate_limit(0)
    with pytest.raises(ValidationError, match="is not an entity of table"):
        small.scan(types=[Scan])  # type: ignore[list-item]


# -- read-rate limiting (the limiter itself: tests/wire/test_rate.py) -------------------------


def test_a_rate_limited_scan_is_paced_by_consumed_capacity(small: Table) -> None:
    scan = Item.scan().where(Item.bucket == 3).page_size(10).segments(2)
    # What the server charges for this scan (moto: 1 unit per request; others: by size).
    units = [p.consumed_capacity for p in scan.pages()]
    assert all(u is not None for u in units)
    total, largest = sum(u for u in units if u), max(u for u in units if u)
    # A one-second burst of ``rate``, and one request per worker may run ahead; the rest of
    # the units must wait: at least (total - rate - 2 * largest) / rate = 0.6 s.
    rate = (total - 2 * largest) / 1.6
    started = time.monotonic()
    found = numbers(scan.rate_limit(rate))
    elapsed = time.monotonic() - started
    assert sorted(found) == list(range(3, N_SMALL, BUCKETS))
    assert elapsed >= 0.5


def test_a_limited_sequential_scan_sends_its_compiled_request_and_no_more(small: Table) -> None:
    # A plain scan runs on the caller's thread like a query: the first request is the compiled
    # one (Limit: the items still wanted; the type filter may need a little more), and reaching
    # the limit sends nothing more.
    scan = Item.scan().limit(7)
    sent: list[dict[str, Any]] = []

    def capture(attempt: Attempt) -> None:
        sent.append(dict(attempt.params))

    with hooked(small, "before-send", capture, operation="Scan", first=True):
        found = scan.all()
    assert len(found) == 7
    assert sent[0] == scan.compile()
    assert sent[0]["Limit"] == 7
    assert len(sent) <= 3  # stops once 7 are found: nothing read ahead
