"""table.batch_get(): 100-key requests, request order, duplicates, missing keys, faults."""

from __future__ import annotations

import _thread
import random
from collections.abc import Callable, Iterator

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import hooked, requests_sent

from dynaorm import (
    BatchIncomplete,
    BatchProgress,
    Entity,
    ItemKey,
    Key,
    RetryPolicy,
    Table,
    ValidationError,
)
from dynaorm.faults import FaultInjector
from dynaorm.wire.hooks import Attempt

Factory = Callable[[Table], Table]
FAST = RetryPolicy(max_attempts=30, base_delay=0.001, cap=0.01)

library = Table("test-batch-get")
elsewhere = Table("test-batch-get-elsewhere")


class Author(Entity, table=library):
    author_id = UnicodeAttribute()
    name = UnicodeAttribute()
    primary = Key(pk="AUTHOR#{author_id}", sk="PROFILE")


class Book(Entity, table=library):
    author_id = UnicodeAttribute()
    isbn = UnicodeAttribute()
    title = UnicodeAttribute()
    pages = NumberAttribute()
    primary = Key(pk="AUTHOR#{author_id}", sk="BOOK#{isbn}")


class Stranger(Entity, table=elsewhere):
    stranger_id = UnicodeAttribute()
    primary = Key(pk="S#{stranger_id}", sk="S")


def book(i: int) -> Book:
    return Book(author_id=f"a{i % 20}", isbn=f"{i:05d}", title=f"Title {i}", pages=100 + i)


@pytest.fixture
def shelved(table_factory: Factory) -> Table:
    """The table holding 20 authors and 200 books."""
    table = table_factory(library)
    with table.batch_write() as batch:
        for i in range(20):
            batch.put(Author(author_id=f"a{i}", name=f"Author {i}"))
        for i in range(200):
            batch.put(book(i))
    return table


@pytest.fixture
def keys_sent(shelved: Table) -> Iterator[list[int]]:
    """The number of keys in each BatchGetItem request sent to the server."""
    sizes: list[int] = []

    def record(attempt: Attempt) -> None:
        sizes.extend(len(spec["Keys"]) for spec in attempt.params["RequestItems"].values())

    with hooked(shelved, "before-send", record, operation="BatchGetItem"):
        yield sizes


def request_of_250() -> tuple[list[ItemKey], list[Entity | None]]:
    """250 keys: books, authors, duplicates and missing keys, shuffled; and what each reads."""
    rng = random.Random(250)
    pool: list[tuple[ItemKey, Entity | None]] = []
    pool += [(book(i).item_key, book(i)) for i in range(0, 200, 2)]  # 100 books
    pool += [
        (Author.key(author_id=f"a{i}"), Author(author_id=f"a{i}", name=f"Author {i}"))
        for i in range(20)
    ]
    pool += [(Book.key(author_id="a1", isbn=f"missing{i}"), None) for i in range(30)]
    pool += [(Author.key(author_id=f"nobody{i}"), None) for i in range(10)]
    chosen = pool + [rng.choice(pool) for _ in range(250 - len(pool))]  # 90 duplicates
    rng.shuffle(chosen)
    return [k for k, _ in chosen], [e for _, e in chosen]


@pytest.mark.parametrize("workers", [1, 3])
def test_250_keys_in_request_order_with_duplicates_and_missing(
    shelved: Table, keys_sent: list[int], workers: int
) -> None:
    keys, expected = request_of_250()
    distinct = len(set(keys))
    assert distinct == 160
    got = shelved.batch_get(keys, workers=workers)
    assert got == expected
    assert [type(g) for g in got] == [type(e) for e in expected]
    assert sorted(keys_sent) == [60, 100]  # each distinct key requested exactly once
    # Duplicates are separate instances.
    first = keys.index(keys[0])
    twin = keys.index(keys[0], first + 1) if keys.count(keys[0]) > 1 else None
    if twin is not None and got[first] is not None:
        assert got[first] is not got[twin]


def test_entities_and_keys_are_both_accepted(shelved: Table) -> None:
    assert shelved.batch_get([book(1), book(2).item_key]) == [book(1), book(2)]
    assert shelved.batch_get([]) == []


@pytest.mark.parametrize("workers", [1, 4])
def test_unprocessed_keys_and_throttling_are_retried(shelved: Table, workers: int) -> None:
    keys, expected = request_of_250()
    progress: list[BatchProgress] = []
    with FaultInjector(seed=8, unprocessed=0.3, throttle=0.1).install(shelved) as faults:
        got = shelved.batch_get(keys, workers=workers, policy=FAST, progress=progress.append)
    assert got == expected
    stats = faults.stats
    assert stats.unprocessed > 0
    last = progress[-1]
    assert (last.done, last.total, last.requests) == (160, 160, stats.calls)
    assert last.throttles == stats.throttled
    assert last.retries == stats.calls - 2


def test_all_unprocessed_raises_with_the_keys_and_never_loops(shelved: Table) -> None:
    keys, _ = request_of_250()
    policy = RetryPolicy(max_attempts=4, base_delay=0.001, cap=0.002)
    with (
        FaultInjector(unprocessed=1.0).install(shelved) as faults,
        pytest.raises(BatchIncomplete) as err,
    ):
        shelved.batch_get(keys, policy=policy)
    assert err.value.unprocessed == list(dict.fromkeys(keys))  # distinct, in request order
    assert faults.stats.calls == 4  # the first request's budget; the second was never sent


def test_all_unprocessed_with_workers(shelved: Table) -> None:
    keys, _ = request_of_250()
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, cap=0.002)
    with (
        FaultInjector(unprocessed=1.0).install(shelved) as faults,
        pytest.raises(BatchIncomplete) as err,
    ):
        shelved.batch_get(keys, policy=policy, workers=2)
    assert sorted(map(repr, err.value.unprocessed)) == sorted(map(repr, set(keys)))
    assert faults.stats.calls <= 6


def test_select_reads_some_attributes_and_still_types_them(shelved: Table) -> None:
    got = shelved.batch_get(
        [book(3).item_key, Author.key(author_id="a3")], select=[Book.title, "name"]
    )
    book_read, author_read = got
    assert isinstance(book_read, Book)
    assert isinstance(author_read, Author)
    assert (book_read.title, book_read.isbn) == ("Title 3", "00003")
    assert "pages" not in book_read.attribute_values  # not selected
    assert author_read.name == "Author 3"


def test_consistent_reads_are_requested(shelved: Table) -> None:
    seen: list[bool] = []

    def record(attempt: Attempt) -> None:
        seen.extend(spec["ConsistentRead"] for spec in attempt.params["RequestItems"].values())

    with hooked(shelved, "before-send", record, operation="BatchGetItem"):
        shelved.batch_get([book(1)], consistent=True)
        shelved.batch_get([book(1)])
    assert seen == [True, False]


def test_keys_of_other_tables_are_refused(shelved: Table) -> None:
    with pytest.raises(ValidationError, match="not an entity of table"):
        shelved.batch_get([Stranger.key(stranger_id="s")])
    with pytest.raises(ValidationError, match="position 1"):
        shelved.batch_get([book(1), "AUTHOR#a1"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="workers"):
        shelved.batch_get([book(1)], workers=0)


# -- stopping -------------------------------------------------------------------------------


def _interrupting(after: int, sent: list[str], at: list[int], how: str) -> Callable[..., None]:
    """A progress callback that interrupts the main thread (Ctrl-C) or raises, once, after
    ``after`` requests, noting in ``at`` how many requests had been sent then."""

    def progress(report: BatchProgress) -> None:
        if report.requests < after or at:
            return
        at.append(len(sent))
        if how == "ctrl-c":
            _thread.interrupt_main()
        else:
            raise RuntimeError("callback")

    return progress


@pytest.mark.parametrize("how", ["ctrl-c", "callback"])
def test_stopping_a_batch_get_cancels_the_queued_requests(shelved: Table, how: str) -> None:
    """10,000 keys (100 requests) on 4 workers, stopped after the 5th request: only the
    requests already in flight are still sent (counted by a before-send hook), none of the
    queued ones."""
    keys = [Book.key(author_id=f"z{i % 7}", isbn=f"{i:06d}") for i in range(10_000)]
    at: list[int] = []
    with requests_sent(shelved) as sent:
        progress = _interrupting(5, sent, at, how)
        with (
            FaultInjector(seed=3, latency=1.0, max_delay=0.01).install(shelved),
            pytest.raises(KeyboardInterrupt if how == "ctrl-c" else RuntimeError),
        ):
            shelved.batch_get(keys, workers=4, progress=progress)
    after = len(sent) - at[0]
    print(f"{how}: {at[0]} requests before the stop, {after} after, of 100")
    assert after <= 8  # at most the 4 in flight and the ones starting as it hit; not 84
