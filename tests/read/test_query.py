"""Queries against the server: paging with filters and limits, ranges, projections, counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from support import hooked, write_all

from dynaorm import AttributeNotLoaded, Entity, Index, Key, Page, Query, Table, ValidationError
from dynaorm.testing import unique_table_name
from dynaorm.wire.hooks import Attempt

T0 = datetime(2024, 1, 1, tzinfo=UTC)
N_EVENTS = 1000

paging_table = Table(
    "test-query-paging",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", sk="GSI2SK", projection="INCLUDE", include=["kind"]),
        Index("LSI1", sk="LSI1SK", local=True),
    ],
)


class Event(Entity, table=paging_table):
    stream = UnicodeAttribute()
    seq = NumberAttribute()
    kind = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    score = NumberAttribute()
    label = UnicodeAttribute()
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    primary = Key(pk="STREAM#{stream}", sk="EVENT#{seq:06d}")
    by_kind = Key(index="GSI1", pk="KIND#{kind}", sk="{at}")
    by_label = Key(index="GSI2", pk="LABEL#{label}", sk="E#{seq:06d}")
    by_score = Key(index="LSI1", sk="SCORE#{score:03d}#{seq:06d}")


class Note(Entity, table=paging_table):
    """Shares Event's table partition and its GSI1 partition: type filtering must hold."""

    stream = UnicodeAttribute()
    note_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    primary = Key(pk="STREAM#{stream}", sk="NOTE#{note_id}")
    by_kind = Key(index="GSI1", pk="KIND#{kind}", sk="{at}")


def score(seq: int) -> int:
    return (seq * 37) % 100


def event(seq: int, stream: str = "s1", kind: str = "k") -> Event:
    return Event(
        stream=stream,
        seq=seq,
        kind=kind,
        at=T0 + timedelta(minutes=seq),
        score=score(seq),
        label="odd" if seq % 2 else "even",
        meta={"colour": "red" if seq % 3 else "blue", "n": seq},
    )


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-query-secret")


@pytest.fixture(scope="module")
def paging(dynamodb_endpoint: str) -> Iterator[Table]:
    """1,000 events in one stream, 40 in another, 30 notes interleaved (written once)."""
    name = unique_table_name(paging_table.name)
    with paging_table.override(name=name, endpoint_url=dynamodb_endpoint):
        paging_table.create()
        try:
            entities: list[Entity] = [event(i) for i in range(N_EVENTS)]
            entities += [event(i, stream="s2", kind="other") for i in range(40)]
            entities += [
                Note(
                    stream="s1",
                    note_id=f"n{i:02d}",
                    kind="k",
                    at=T0 + timedelta(minutes=i * 33, seconds=30),
                )
                for i in range(30)
            ]
            write_all(paging_table, entities)
            yield paging_table
        finally:
            paging_table.delete(missing_ok=True, wait=False)


def seqs(items: Sequence[Event] | Page[Event]) -> list[int]:
    return [int(e.seq) for e in items]


def pages_of(query: Query[Event]) -> Iterator[Page[Event]]:
    """Follow cursors page by page, the way a web client would."""
    cursor: str | None = None
    while True:
        page = query.page(cursor)
        yield page
        if page.cursor is None:
            return
        cursor = page.cursor


QUERIES: dict[str, Callable[[], Query[Event]]] = {
    "table": lambda: Event.query(stream="s1"),
    "gsi": lambda: Event.by_kind.query(kind="k"),
}
FILTERED = [seq for seq in range(N_EVENTS) if score(seq) >= 30]
PER_PAGE = 37  # cuts responses of 25 and 60 items mid-page


@pytest.mark.parametrize("target", sorted(QUERIES))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("page_size", [None, 25, 60])
def test_paging_through_1000_items_has_no_gaps_and_no_duplicates(
    paging: Table, target: str, reverse: bool, page_size: int | None
) -> None:
    query = QUERIES[target]().where(Event.score >= 30).limit(PER_PAGE).page_size(page_size)
    query = query.reverse(reverse)
    expected = FILTERED[::-1] if reverse else FILTERED
    pages = list(pages_of(query))
    assert [seqs(p) for p in pages[:-1]] == [
        expected[i : i + PER_PAGE] for i in range(0, PER_PAGE * (len(pages) - 1), PER_PAGE)
    ]
    assert [seq for p in pages for seq in seqs(p)] == expected
    assert len(pages[-1].items) <= PER_PAGE
    assert all(isinstance(e, Event) for p in pages for e in p.items)


@pytest.mark.parametrize("target", sorted(QUERIES))
def test_iteration_streams_every_item_and_limit_caps_the_total(paging: Table, target: str) -> None:
    query = QUERIES[target]().where(Event.score >= 30).page_size(97)
    assert seqs(list(query)) == FILTERED
    assert seqs(query.limit(250).all()) == FILTERED[:250]
    assert seqs(query.reverse().limit(5).all()) == FILTERED[::-1][:5]


def test_pages_yield_one_page_per_response(paging: Table) -> None:
    pages = list(Event.query(stream="s1").page_size(300).pages())
    assert [len(p) for p in pages] == [300, 300, 300, 100]
    assert [p.cursor is None for p in pages] == [False, False, False, True]
    assert all(p.scanned_count == len(p) for p in pages)
    assert all(p.consumed_capacity is not None for p in pages)


def test_only_the_entitys_own_items_come_back(paging: Table) -> None:
    assert len(Event.query(stream="s1").all()) == N_EVENTS
    assert len(Note.query(stream="s1").all()) == 30
    assert len(Note.by_kind.query(kind="k").all()) == 30
    assert seqs(Event.query(stream="s2").all()) == list(range(40))
    assert Event.query(stream="nobody").all() == []


def test_count_uses_select_count_across_pages(paging: Table) -> None:
    assert Event.query(stream="s1").page_size(128).count() == N_EVENTS
    assert Event.query(stream="s1").where(Event.score >= 30).count() == len(FILTERED)
    assert Event.by_kind.query(kind="k").page_size(200).count() == N_EVENTS
    assert Event.query(stream="s1").limit(10).count() == 10


def test_first(paging: Table) -> None:
    assert seqs([Event.query(stream="s1").reverse().first()]) == [999]  # type: ignore[list-item]
    assert Event.query(stream="s1").where(Event.score == 101).first() is None


T = T0 + timedelta(minutes=500)


RANGES: list[tuple[str, Callable[[], Query[Event]], list[int]]] = [
    ("number >=", lambda: Event.query(stream="s1").range(Event.seq >= 995), list(range(995, 1000))),
    ("number >", lambda: Event.query(stream="s1").range(Event.seq > 995), list(range(996, 1000))),
    ("number <", lambda: Event.query(stream="s1").range(Event.seq < 3), [0, 1, 2]),
    ("number <=", lambda: Event.query(stream="s1").range(Event.seq <= 3), [0, 1, 2, 3]),
    (
        "number between, reversed",
        lambda: Event.query(stream="s1").range(Event.seq.between(10, 13)).reverse(),
        [13, 12, 11, 10],
    ),
    (
        "number equality",
        lambda: Event.query(stream="s1").range(Event.seq == 7),
        [7],
    ),
    (
        "gsi datetime >",
        lambda: Event.by_kind.query(kind="k").range(Event.at > T0 + timedelta(minutes=996)),
        [997, 998, 999],
    ),
    (
        "gsi datetime between",
        lambda: Event.by_kind.query(kind="k").range(Event.at.between(T, T + timedelta(minutes=2))),
        [500, 501, 502],
    ),
    (
        "lsi: equality on the leading field, range on the next",
        lambda: Event.by_score.query(stream="s1").range(Event.score == 37).range(Event.seq < 500),
        [s for s in range(500) if score(s) == 37],
    ),
    (
        "lsi: <= on the leading field takes every longer key of the group",
        lambda: Event.by_score.query(stream="s1").range(Event.score <= 0),
        [s for s in range(N_EVENTS) if score(s) == 0],
    ),
    (
        "lsi: > on the leading field skips the whole group",
        lambda: Event.by_score.query(stream="s1").range(Event.score > 98),
        [s for s in range(N_EVENTS) if score(s) == 99],
    ),
]


@pytest.mark.parametrize(("build", "expected"), [c[1:] for c in RANGES], ids=[c[0] for c in RANGES])
def test_ranges_on_the_server(
    paging: Table, build: Callable[[], Query[Event]], expected: list[int]
) -> None:
    assert seqs(build().all()) == expected


def test_the_request_sent_is_the_compiled_request(paging: Table) -> None:
    sent: list[dict[str, Any]] = []

    def capture(attempt: Attempt) -> None:
        sent.append(dict(attempt.params))

    with hooked(paging, "before-send", capture, operation="Query", first=True):
        query = (
            Event.by_kind.query(kind="k")
            .range(Event.at >= T)
            .where(Event.meta["colour"] == "red", Event.score > 10)
            .select(Event.meta["n"], Event.score)
            .page_size(50)
            .limit(60)
        )
        page = query.page()
        assert sent[0] == query.compile()
        resumed = query.after(page.cursor)
        sent.clear()
        resumed.page()
        assert sent[0] == resumed.compile()
        assert "ExclusiveStartKey" in sent[0]
        assert set(sent[0]["ExclusiveStartKey"]) == {"GSI1PK", "GSI1SK", "PK", "SK"}


def test_limit_without_filter_asks_for_what_is_still_wanted(paging: Table) -> None:
    sent: list[dict[str, Any]] = []

    def capture(attempt: Attempt) -> None:
        sent.append(dict(attempt.params))

    with hooked(paging, "before-send", capture, operation="Query", first=True):
        page = Event.query(stream="s1").limit(30).page()
        assert len(page) == 30
        assert [r.get("Limit") for r in sent] == [30]  # one request, no over-read


def test_projected_results_are_partial_entities_that_refuse_to_save(paging: Table) -> None:
    (found,) = Event.query(stream="s1").range(Event.seq == 7).select(Event.meta["n"]).all()
    assert found.meta.as_dict() == {"n": 7}  # nested projection: only the selected key
    assert (found.stream, found.seq) == ("s1", 7)  # primary-key fields always come back
    with pytest.raises(AttributeNotLoaded, match="'score' was not loaded"):
        found.score  # not selected: never a made-up None or default  # noqa: B018
    with pytest.raises(ValidationError, match=r"was read with select\(\) .* holds only some"):
        found.save()
    assert Event.query(stream="s1").range(Event.seq == 7).first().is_partial is False  # type: ignore[union-attr]
    found.refresh()  # read in full: writable again, with every attribute back
    assert found.score is not None
    found.save()


def test_include_index_gives_partial_typed_entities(paging: Table) -> None:
    query = Event.by_label.query(label="odd").limit(3)
    # The type is projected, so the results are filtered by type (untyped items reported).
    assert query.compile()["FilterExpression"] == "(#n2 = :v2 OR attribute_not_exists (#n2))"
    found = query.all()
    # Keys and the included attribute: the key-template fields come back from the keys.
    assert {(e.stream, e.seq) for e in found} == {("s1", 1), ("s2", 1), ("s1", 3)}
    assert all(isinstance(e, Event) and e.is_partial for e in found)
    assert not hasattr(found[0], "score")  # not in the index: not loaded (AttributeNotLoaded)
    assert found[0].kind is not None


def test_consistent_reads_on_the_table_and_local_index(paging: Table) -> None:
    assert len(Event.query(stream="s2").consistent().all()) == 40
    assert len(Event.by_score.query(stream="s2").consistent().all()) == 40
