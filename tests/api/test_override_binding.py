"""A read, a batch and a transaction each go to one table, however ``override`` blocks end.

``table.override(...)`` is scoped by contextvars. A read binds the table's name, connection
and cursor keys when it starts running (``page()``, ``iter()``, ``pages()``, ``count()``), and
every later page, read-ahead request and segment worker uses them; a batch writer or a
transaction binds when it is opened. Each test has items in two physical tables (the table's
own and another one under ``override(name=...)`` or ``override(region=...)``) and checks that
no result mixes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import requests_sent

from dynaorm import Entity, InvalidCursor, Key, ServiceError, Table
from dynaorm.testing import unique_table_name

Factory = Callable[[Table], Table]

events = Table("test-bind", indexes=[])


class Ev(Entity, table=events):
    stream = UnicodeAttribute()
    seq = NumberAttribute()
    where = UnicodeAttribute()
    primary = Key(pk="S#{stream}", sk="E#{seq:04d}")


Inside = Callable[..., contextlib.AbstractContextManager[Table]]


@pytest.fixture(params=["name", "region"])
def inside(request: pytest.FixtureRequest, table_factory: Factory) -> Iterator[Inside]:
    """The table (4 items "home") and another one (4 items "copy") reached through
    ``override(name=...)`` (same connection) or ``override(region=...)`` (same name, another
    connection); yields what enters that override (with more settings if given)."""
    table_factory(events)
    if request.param == "name":
        changes: dict[str, Any] = {"name": unique_table_name("test-bind-copy")}
    else:
        changes = {"region": "eu-west-1"}

    def enter(**more: Any) -> contextlib.AbstractContextManager[Table]:
        return events.override(**changes, **more)

    for i in range(4):
        Ev(stream="s", seq=i, where="home").save()
    with enter():
        try:
            events.create()
        except ServiceError:
            pytest.skip("the server keeps one set of tables for every region")
    try:
        with enter():
            for i in range(4):
                Ev(stream="s", seq=i, where="copy").save()
        yield enter
    finally:
        with enter():
            events.delete(missing_ok=True, wait=False)


def _where(items: list[Ev]) -> list[str]:
    return [e.where for e in items]


@pytest.mark.parametrize("ahead", [False, True], ids=["in-line", "read-ahead"])
def test_a_query_iterator_started_inside_an_override_finishes_on_its_table(
    inside: Inside, ahead: bool
) -> None:
    with inside():
        items = iter(Ev.query(stream="s").page_size(1).read_ahead(ahead))
        first = next(items)
    rest = list(items)  # the block has ended: later pages still come from the copy
    assert [(e.seq, e.where) for e in [first, *rest]] == [(i, "copy") for i in range(4)]


def test_an_iterator_made_inside_and_first_used_outside_reads_the_copy(inside: Inside) -> None:
    with inside():
        items = iter(Ev.query(stream="s"))  # iter() starts the read: it binds here
    assert _where(list(items)) == ["copy"] * 4


@pytest.mark.parametrize("segments", [1, 3])
def test_a_scan_iterator_started_inside_an_override_finishes_on_its_table(
    inside: Inside, segments: int
) -> None:
    with inside():
        items = iter(Ev.scan().segments(segments).page_size(1).consistent())
        first = next(items)
    rest = list(items)
    assert sorted(_where([first, *rest])) == ["copy"] * 4


def test_pages_started_inside_keep_their_table_and_cursor_keys(inside: Inside) -> None:
    with inside(cursor_secret="inside-the-block"):
        pages = Ev.query(stream="s").limit(2).pages()
        page = next(pages)
    assert _where(list(page.items)) == ["copy"] * 2
    cursor = page.cursor  # signed now, outside: with the keys the read started with
    assert cursor is not None
    with pytest.raises(InvalidCursor):  # the table's own keys do not verify it
        Ev.query(stream="s").limit(2).after(cursor).all()
    with inside(cursor_secret="inside-the-block"):
        rest = Ev.query(stream="s").limit(2).after(cursor).all()
    assert [(e.seq, e.where) for e in rest] == [(2, "copy"), (3, "copy")]


def test_a_scan_checkpoint_taken_outside_is_sealed_with_the_scans_keys(inside: Inside) -> None:
    with inside(cursor_secret="inside-the-block"):
        pages = Ev.scan().segments(2).consistent().pages()
        page = next(pages)
    text = page.checkpoint.dumps()  # sealed outside the block
    with inside(cursor_secret="inside-the-block"):
        resumed = Ev.scan().segments(2).consistent().resume(text).all()
    assert len(page.items) + len(resumed) == 4
    assert set(_where([*page.items, *resumed])) == {"copy"}


def test_a_query_object_is_lazy_it_reads_where_it_runs(inside: Inside) -> None:
    home = events.name
    with inside():
        query = Ev.query(stream="s")
        copy = events.name
        assert query.compile()["TableName"] == copy
        assert _where(query.all()) == ["copy"] * 4
    assert query.compile()["TableName"] == home
    assert _where(query.all()) == ["home"] * 4
    assert query.count() == 4


@pytest.mark.requires("transactions")
def test_a_transaction_opened_inside_commits_there_from_outside(inside: Inside) -> None:
    with inside():
        tx = events.transaction()
        copy = events.name
    tx.put(Ev(stream="t", seq=1, where="tx"))
    tx.update(Ev.key(stream="s", seq=0), Ev.where.set("updated"))
    tx.delete(Ev.key(stream="s", seq=1))
    assert {a.request["TableName"] for a in tx.actions} == {copy}
    tx.commit()
    assert Ev.get(stream="t", seq=1) is None
    assert _where(Ev.query(stream="s").consistent().all()) == ["home"] * 4
    with inside():
        assert Ev.get(stream="t", seq=1, consistent=True) is not None
        assert _where(Ev.query(stream="s").consistent().all()) == ["updated", "copy", "copy"]


@pytest.mark.requires("transactions")
def test_actions_added_inside_another_override_go_where_the_transaction_was_opened(
    inside: Inside,
) -> None:
    with events.transaction() as tx, inside():
        tx.put(Ev(stream="t", seq=1, where="tx"))
        tx.update(Ev.key(stream="s", seq=0), Ev.where.set("updated"))
    assert Ev.get(stream="t", seq=1, consistent=True) is not None
    assert Ev.get(stream="s", seq=0, consistent=True).where == "updated"  # type: ignore[union-attr]
    with inside():
        assert Ev.get(stream="t", seq=1, consistent=True) is None
        assert _where(Ev.query(stream="s").consistent().all()) == ["copy"] * 4


@pytest.mark.parametrize("workers", [1, 2])
def test_a_batch_writes_where_it_was_opened_whatever_block_a_put_runs_in(
    inside: Inside, workers: int
) -> None:
    with events.batch_write(workers=workers) as batch, inside():
        for i in range(60):  # two requests of 25 go out inside the inner block
            batch.put(Ev(stream="b", seq=i, where="batch"))
    assert batch.result.applied == 60
    assert len(Ev.query(stream="b").consistent().all()) == 60
    with inside():
        assert Ev.query(stream="b").consistent().all() == []


def test_a_batch_writer_made_inside_and_used_without_a_with_block_writes_there(
    inside: Inside,
) -> None:
    with inside():
        batch = events.batch_write()
    for i in range(30):
        batch.put(Ev(stream="b", seq=i, where="batch"))
    batch.delete(Ev.key(stream="s", seq=0))
    batch.flush()
    assert Ev.query(stream="b").consistent().all() == []
    assert len(Ev.query(stream="s").consistent().all()) == 4
    with inside():
        assert len(Ev.query(stream="b").consistent().all()) == 30
        assert len(Ev.query(stream="s").consistent().all()) == 3


def test_a_batch_get_reads_one_table(inside: Inside) -> None:
    keys = [Ev.key(stream="s", seq=i) for i in range(4)]
    with inside():
        got = events.batch_get(keys, consistent=True)
    assert _where(got) == ["copy"] * 4  # type: ignore[arg-type]


def test_binding_sends_no_request_and_compiling_needs_no_connection(inside: Inside) -> None:
    with requests_sent(events) as sent, inside():
        Ev.query(stream="s").compile()
        Ev.scan().segment(0, of=2).compile()
        iter(Ev.query(stream="s"))
        events.transaction()
        events.batch_write()
    assert sent == []


def test_a_batch_made_outside_and_opened_inside_writes_inside(inside: Inside) -> None:
    batch = events.batch_write(workers=2)
    with inside(), batch:  # the with block opens it: bound here
        for i in range(30):
            batch.put(Ev(stream="b", seq=i, where="batch"))
    assert Ev.query(stream="b").consistent().all() == []
    with inside():
        assert len(Ev.query(stream="b").consistent().all()) == 30


@pytest.mark.requires("transactions")
def test_a_transaction_made_outside_and_opened_inside_commits_inside(inside: Inside) -> None:
    tx = events.transaction()
    with inside(), tx:
        tx.put(Ev(stream="t", seq=1, where="tx"))
    assert Ev.get(stream="t", seq=1, consistent=True) is None
    with inside():
        assert Ev.get(stream="t", seq=1, consistent=True) is not None
