"""``count()`` counts exactly the results a read gives, under either unknown-items policy.

Entity reads let items without a type attribute through their filter (so pages can report
them); ``count()`` must not count those as the entity, and under ``unknown_items="raise"`` it
raises as ``all()`` does. Items are written raw next to typed ones, on the real server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import requests_sent

from dynaorm import Entity, Index, Key, Table, UnknownEntityType, UnknownItem

Factory = Callable[[Table], Table]

shop = Table(
    "test-count",
    indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")],
)


class Ev(Entity, table=shop):
    stream = UnicodeAttribute()
    seq = NumberAttribute()
    tag = UnicodeAttribute(default="t")
    primary = Key(pk="S#{stream}", sk="E#{seq:04d}")
    by_tag = Key(index="GSI1", pk="TAG#{tag}", sk="E#{seq:04d}")


class Note(Entity, table=shop):
    stream = UnicodeAttribute()
    n = NumberAttribute()
    primary = Key(pk="S#{stream}", sk="N#{n:04d}")


def _raw(item: dict[str, Any]) -> None:
    shop.call("PutItem", {"TableName": shop.name, "Item": item}, idempotent=True)


@pytest.fixture
def table(table_factory: Factory) -> Iterator[Table]:
    """Stream "s": 3 Ev, 1 Note, 1 untyped item among the Ev keys (also on the GSI), 1 item
    typed with a name no entity has."""
    table_factory(shop)
    for i in range(3):
        Ev(stream="s", seq=i).save()
    Note(stream="s", n=1).save()
    _raw(
        {
            "PK": {"S": "S#s"},
            "SK": {"S": "E#0099"},
            "GSI1PK": {"S": "TAG#t"},
            "GSI1SK": {"S": "E#0099"},
        }
    )
    _raw({"PK": {"S": "S#s"}, "SK": {"S": "X#0001"}, "_type": {"S": "Retired"}})
    try:
        yield shop
    finally:
        shop.unknown_items = "keep"
        shop.classify = None


READS: dict[str, Callable[[], Any]] = {
    "query": lambda: Ev.query(stream="s").consistent(),
    "query-select": lambda: Ev.query(stream="s").consistent().select(Ev.seq),
    "query-range": lambda: Ev.query(stream="s").range(Ev.seq > 0).consistent(),
    "query-page-size": lambda: Ev.query(stream="s").consistent().page_size(1),
    "index-query": lambda: Ev.by_tag.query(tag="t"),
    "scan": lambda: Ev.scan().consistent(),
    "scan-segments": lambda: Ev.scan().consistent().segments(3),
    "scan-page-size": lambda: Ev.scan().consistent().page_size(2),
}


@pytest.mark.parametrize("read", list(READS))
def test_count_is_the_number_of_results_and_reports_untyped_items(
    table: Table, read: str, caplog: pytest.LogCaptureFixture
) -> None:
    reader = READS[read]()
    results = reader.all()
    assert all(isinstance(r, Ev) for r in results)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dynaorm"):
        assert reader.count() == len(results)
    # The untyped item is reported as pages report it (with its key), not counted.
    assert "E#0099" in caplog.text
    assert "page.unknown" in caplog.text


@pytest.mark.parametrize("read", list(READS))
def test_count_raises_as_all_does_under_raise(table: Table, read: str) -> None:
    table.unknown_items = "raise"
    reader = READS[read]()
    with pytest.raises(UnknownEntityType):
        reader.all()
    with pytest.raises(UnknownEntityType) as caught:
        reader.count()
    assert caught.value.type_name is None
    assert caught.value.item["SK"] == {"S": "E#0099"}


def test_segments_of_a_scan_count_their_results(table: Table) -> None:
    parts = [Ev.scan().consistent().segment(i, of=4) for i in range(4)]
    assert sum(p.count() for p in parts) == 3 == sum(len(p.all()) for p in parts)
    table.unknown_items = "raise"
    raised = 0
    for part in parts:
        try:
            part.count()
        except UnknownEntityType:
            raised += 1
    assert raised == 1  # the segment holding the untyped item


def test_count_with_a_limit_and_a_cursor_counts_results(table: Table) -> None:
    query = Ev.query(stream="s").consistent()
    assert query.limit(2).count() == 2
    page = query.limit(1).page()
    assert query.after(page.cursor).count() == len(query.after(page.cursor).all()) == 2


def test_an_untyped_item_classify_claims_is_counted(table: Table) -> None:
    table.classify = lambda item: Ev if item["SK"]["S"].startswith("E#") else None
    query = Ev.query(stream="s").consistent()
    assert len(query.all()) == query.count() == 4
    table.unknown_items = "raise"
    assert query.count() == 4  # claimed: not unknown
    assert Ev.scan().consistent().segments(2).count() == 4


def test_an_entity_count_without_unknown_items_sends_two_count_requests(table: Table) -> None:
    query = Ev.query(stream="clean").consistent()
    Ev(stream="clean", seq=1).save()
    with requests_sent(table) as sent:
        assert query.count() == 1
    assert sent == ["Query", "Query"]  # typed Select=COUNT, plus the untyped part (empty)


def test_mixed_reads_count_unknown_items_as_results_or_raise(table: Table) -> None:
    partition = table.partition_query(Ev.primary, stream="s").consistent()
    results = partition.all()
    assert sum(isinstance(r, UnknownItem) for r in results) == 2
    assert partition.count() == len(results) == 6
    scan = table.scan().consistent()
    assert scan.count() == len(scan.all()) == 6
    typed = table.scan(types=[Ev, Note]).consistent()
    assert typed.count() == len(typed.all()) == 5  # the "Retired" item is filtered out
    for strict in (
        table.partition_query(Ev.primary, stream="s", strict=True).consistent(),
        table.scan(strict=True).consistent(),
        table.scan(strict=True).consistent().segments(3),
        table.scan(types=[Ev], strict=True).consistent(),
    ):
        with pytest.raises(UnknownEntityType):
            strict.all()
        with pytest.raises(UnknownEntityType):
            strict.count()


def test_a_strict_read_of_every_type_raises_for_an_unregistered_type(table: Table) -> None:
    table.call(
        "DeleteItem",
        {"TableName": table.name, "Key": {"PK": {"S": "S#s"}, "SK": {"S": "E#0099"}}},
        idempotent=True,
    )
    strict = table.scan(strict=True).consistent()
    with pytest.raises(UnknownEntityType) as caught:
        strict.count()
    assert caught.value.type_name == "Retired"
    assert table.scan(types=[Ev, Note], strict=True).consistent().count() == 4
