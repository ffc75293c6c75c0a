"""DynamoDB's limits under hostile input: items at and just over 400 KB, numbers past 38 digits,
NaN, infinity and extreme exponents, batches past 25/100 keys, transactions past 100 actions.

Every case is a typed error before any request, or correct behaviour."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
)
from support import fresh_table, requests_sent

from dynaorm import Entity, Key, ServiceError, Table, ValidationError, VersionAttribute
from dynaorm.base.limits import ITEM_SIZE_LIMIT, TRANSACTION_ACTION_LIMIT
from dynaorm.base.sizes import item_size
from dynaorm.wire.hooks import Attempt, hooks_for

limits = Table("test-hostile-limits")


class Blob(Entity, table=limits):
    blob_id = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    primary = Key(pk="BLOB#{blob_id}", sk="BLOB")


class Num(Entity, table=limits):
    num_id = UnicodeAttribute()
    value = NumberAttribute(null=True)
    values = NumberSetAttribute(null=True)
    nested = ListAttribute(null=True)  # type: ignore[var-annotated]
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    primary = Key(pk="NUM#{num_id}", sk="NUM")


class Counter(Entity, table=limits):
    counter_id = UnicodeAttribute()
    hits = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="COUNTER#{counter_id}", sk="COUNTER")


NUMBERS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def request_sizes(table: Table, operation: str) -> Iterator[list[int]]:
    """How many items or keys each ``operation`` request of the table carries."""
    sizes: list[int] = []

    def measure(attempt: Attempt) -> None:
        if attempt.operation != operation:
            return
        for entry in attempt.params["RequestItems"].values():
            sizes.append(len(entry["Keys"]) if isinstance(entry, dict) else len(entry))

    hooks = hooks_for(table.transport.client)
    hooks.register("before-send", measure)
    try:
        yield sizes
    finally:
        hooks.unregister("before-send", measure)


@pytest.fixture(scope="module")
def table(dynamodb_endpoint: str) -> Iterator[Table]:
    with fresh_table(limits, dynamodb_endpoint) as made:
        yield made


# -- item size -------------------------------------------------------------------------------


def blob_of(size: int, blob_id: str, char: str = "x") -> Blob:
    """A Blob whose item is exactly ``size`` bytes (``char`` of 1 or 2 UTF-8 bytes)."""
    room = size - item_size(Blob(blob_id=blob_id, body="").to_item())
    width = len(char.encode())
    body = char * (room // width) + "x" * (room % width)
    blob = Blob(blob_id=blob_id, body=body)
    if size <= ITEM_SIZE_LIMIT:  # (to_item() refuses bigger items)
        assert item_size(blob.to_item()) == size
    return blob


def test_an_item_of_exactly_400_kb_is_accepted(table: Table) -> None:
    """dynaorm sends it; DynamoDB stores it. moto refuses items past 405,000 bytes by its own
    count, below DynamoDB's limit: that refusal must come back as a typed ServiceError."""
    blob = blob_of(ITEM_SIZE_LIMIT, "exact", "é")
    refusal: ServiceError | None = None
    with requests_sent(table) as sent:
        try:
            blob.save()
        except ServiceError as exc:
            refusal = exc
    assert sent[0] == "PutItem"
    if refusal is None:
        assert Blob.get(blob_id="exact", consistent=True) == blob
    else:
        assert refusal.code == "ValidationException"
        assert "size" in str(refusal).lower()


@pytest.mark.parametrize("char", ["x", "é", "💥"])
def test_a_large_item_round_trips(table: Table, char: str) -> None:
    blob = blob_of(ITEM_SIZE_LIMIT - 5_000, f"large-{len(char.encode())}", char)
    blob.save()
    assert Blob.get(blob_id=blob.blob_id, consistent=True) == blob


OVER: list[tuple[str, Callable[[Blob], Any]]] = [
    ("save", lambda b: b.save()),
    ("to_item", lambda b: b.to_item()),
    ("batch write", lambda b: _batch_put(b)),
    ("transaction", lambda b: _transact_put(b)),
    # An update's own names and values over 400 KB (what it does to the stored item's size is
    # known only to the server).
    ("update", lambda b: Blob.update_by_key(b.item_key, Blob.body.set(f"{b.body}{'y' * 64}"))),
]


def _batch_put(entity: Entity) -> None:
    with limits.batch_write() as batch:
        batch.put(entity)


def _transact_put(entity: Entity) -> None:
    with limits.transaction() as tx:
        tx.put(entity)


@pytest.mark.parametrize("char", ["x", "é"])
@pytest.mark.parametrize("write", [o[1] for o in OVER], ids=[o[0] for o in OVER])
def test_an_item_one_byte_over_is_refused_before_any_request(
    table: Table, write: Callable[[Blob], Any], char: str
) -> None:
    blob = blob_of(ITEM_SIZE_LIMIT + 1, "over", char)
    with requests_sent(table) as sent, pytest.raises(ValidationError, match=r"409,6\d\d bytes"):
        write(blob)
    assert sent == []
    assert Blob.get(blob_id="over", consistent=True) is None  # nothing partial was stored


# -- numbers ---------------------------------------------------------------------------------


def storable(number: int | float) -> bool:
    """DynamoDB's rule, computed independently of dynaorm: finite, 38 significant digits,
    zero or 1E-130 <= |n| < 1E+126."""
    if isinstance(number, float) and not math.isfinite(number):
        return False
    exact = Decimal(number) if isinstance(number, int) else Decimal(repr(number))
    if exact == 0:
        return True
    significant = "".join(map(str, exact.as_tuple().digits)).strip("0")
    return len(significant) <= 38 and Decimal("1E-130") <= abs(exact) < Decimal("1E+126")


hostile_numbers = st.one_of(
    st.integers(min_value=-(10**45), max_value=10**45),
    st.integers(min_value=1, max_value=10**6).flatmap(
        lambda n: st.integers(min_value=0, max_value=140).map(lambda k: n * 10**k)
    ),
    st.integers(min_value=37, max_value=40).map(lambda d: int("9" * d)),
    st.integers(min_value=37, max_value=40).map(lambda d: -int("1" * d)),
    st.floats(),
    st.sampled_from([1e-130, 1e-131, 9.99e125, 1e126, 5e-324, -0.0, 1.7976931348623157e308]),
)


def same_number(a: Any, b: Any) -> bool:
    return Decimal(repr(a) if isinstance(a, float) else a) == Decimal(
        repr(b) if isinstance(b, float) else b
    )


@given(number=hostile_numbers)
@NUMBERS
def test_numbers_round_trip_or_are_refused_before_any_request(
    table: Table, number: int | float
) -> None:
    key = Num.key(num_id="prop")
    writes: list[Callable[[], Any]] = [
        lambda: Num(num_id="prop", value=number).save(),
        lambda: Num(num_id="prop", values={1, number}).save(),
        lambda: Num(num_id="prop", nested=[[number]], meta={"n": number}).save(),
        lambda: Num.update_by_key(key, Num.value.set(number)),
        lambda: Num.update_by_key(key, Num.value.add(number)),
        lambda: Num(num_id="prop").save(condition=Num.value != number),
        lambda: Num.query(num_id="prop").where(Num.value == number).all(),
        lambda: Num.scan().where(Num.value < number).all(),
    ]
    if not storable(number):
        event("refused")
        with requests_sent(table) as sent:
            for write in writes:
                with pytest.raises(ValidationError):
                    write()
        assert sent == []
        return
    event("stored")
    Num(num_id="prop", value=number, values={number}, nested=[number], meta={"n": number}).save()
    got = Num.get(num_id="prop", consistent=True)
    assert got is not None
    assert got.value is not None
    assert got.values is not None
    assert same_number(got.value, number)
    assert [Decimal(repr(v) if isinstance(v, float) else v) for v in got.values] == [
        Decimal(repr(number) if isinstance(number, float) else number)
    ]
    assert got.nested is not None
    assert same_number(got.nested[0], number)
    assert Num.query(num_id="prop").consistent().where(Num.value == number).count() == 1


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (float("nan"), "cannot be NaN or infinity"),
        (float("inf"), "cannot be NaN or infinity"),
        (float("-inf"), "cannot be NaN or infinity"),
        (int("9" * 39), "39 significant digits"),
        (10**38 + 1, "39 significant digits"),
        (10**126, "outside DynamoDB's number range"),
        (1e-131, "outside DynamoDB's number range"),
        (5e-324, "outside DynamoDB's number range"),
    ],
    ids=repr,
)
def test_unstorable_numbers_name_the_attribute(table: Table, number: Any, message: str) -> None:
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=rf"^Num\.value: .*{message}"):
            Num(num_id="x", value=number).save()
        with pytest.raises(ValidationError, match=rf"^Num\.values: .*{message}"):
            _transact_put(Num(num_id="x", values={number}))
        with pytest.raises(ValidationError, match=rf"^Num\.meta\.deep\[0\]: .*{message}"):
            _batch_put(Num(num_id="x", meta={"deep": [number]}))
        with pytest.raises(ValidationError, match=rf"^Num \(condition value\): .*{message}"):
            Num(num_id="x").delete(condition=Num.value == number)
        with pytest.raises(ValidationError, match=rf"^Num \(condition value\): .*{message}"):
            Num(num_id="x").save(condition=Num.value.between(0, number))
        with pytest.raises(ValidationError, match=rf"^Num \(condition value\): .*{message}"):
            transaction_of(1, lambda tx, i: tx.check(Num.key(num_id="x"), Num.value < number))
    assert sent == []


@pytest.mark.parametrize(
    "number", [int("9" * 38), -int("9" * 38), 10**125, 1e-130, -1e-130, 9.99e125, 0, -0.0]
)
def test_numbers_at_the_limits_round_trip(table: Table, number: Any) -> None:
    Num(num_id="edge", value=number).save()
    got = Num.get(num_id="edge", consistent=True)
    assert got is not None
    assert same_number(got.value, number)


# -- batches ---------------------------------------------------------------------------------


@given(count=st.integers(min_value=26, max_value=60))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batch_writes_past_25_are_chunked_and_complete(table: Table, count: int) -> None:
    blobs = [Blob(blob_id=f"w{count}-{i}", body=str(i)) for i in range(count)]
    with request_sizes(table, "BatchWriteItem") as sizes, limits.batch_write() as batch:
        for blob in blobs:
            batch.put(blob)
    assert sum(sizes) == count
    assert max(sizes) == 25
    assert len(sizes) == math.ceil(count / 25)
    assert batch.result.puts == count
    assert batch.result.unprocessed == ()
    assert limits.batch_get(blobs, consistent=True) == blobs
    with request_sizes(table, "BatchWriteItem") as sizes, limits.batch_write() as batch:
        for blob in blobs:
            batch.delete(blob.item_key)
    assert sum(sizes) == count
    assert max(sizes) <= 25
    assert limits.batch_get(blobs, consistent=True) == [None] * count


@given(count=st.integers(min_value=101, max_value=250), data=st.data())
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batch_gets_past_100_are_chunked_and_complete(
    table: Table, count: int, data: st.DataObject
) -> None:
    stored = [Blob(blob_id=f"g-{i}", body=str(i)) for i in range(120)]
    with limits.batch_write() as batch:
        for blob in stored:
            batch.put(blob)
    # Stored, missing and repeated keys, in a random order.
    ids = data.draw(
        st.lists(st.integers(min_value=0, max_value=299), min_size=count, max_size=count)
    )
    keys = [Blob.key(blob_id=f"g-{i}") for i in ids]
    with request_sizes(table, "BatchGetItem") as sizes:
        results = limits.batch_get(keys, consistent=True)
    distinct = len(set(ids))
    assert sum(sizes) == distinct
    assert max(sizes) <= 100
    assert len(sizes) == math.ceil(distinct / 100)
    assert [r.blob_id if r else None for r in results] == [
        f"g-{i}" if i < 120 else None for i in ids
    ]


def test_a_bad_write_in_a_batch_sends_nothing_after_it(table: Table) -> None:
    """A write refused by validation stops the batch; writes already sent stay applied, the
    others are reported unprocessed, never silently dropped or half-written."""
    blobs = [Blob(blob_id=f"stop-{i}", body="ok") for i in range(30)]
    batch = limits.batch_write()

    def write_all_then_a_bad_one() -> None:
        with batch:
            for blob in blobs:
                batch.put(blob)
            batch.put(Num(num_id="bad", value=float("nan")))

    with requests_sent(table) as sent, pytest.raises(ValidationError, match="NaN"):
        write_all_then_a_bad_one()
    written = [b for b in limits.batch_get(blobs, consistent=True) if b is not None]
    assert len(written) == 25 * sent.count("BatchWriteItem")
    assert len(written) + len(batch.result.unprocessed) == len(blobs)


# -- transactions ----------------------------------------------------------------------------


def transaction_of(count: int, action: Callable[[Any, int], Any]) -> Any:
    """Run ``count`` actions in one transaction block; returns the transaction."""
    with limits.transaction() as tx:
        for i in range(count):
            action(tx, i)
    return tx


def test_101_transaction_actions_are_refused_before_any_request(table: Table) -> None:
    def put(tx: Any, i: int) -> None:
        if i == TRANSACTION_ACTION_LIMIT:
            assert len(tx.actions) == TRANSACTION_ACTION_LIMIT
        tx.put(Blob(blob_id=f"tx-{i}", body="x"))

    def check_then_update(tx: Any, i: int) -> None:
        if i < TRANSACTION_ACTION_LIMIT:
            tx.check(Blob.key(blob_id=f"tx-{i}"), Blob.body.exists())
        else:
            tx.update(Counter.key(counter_id="c"), Counter.hits.add(1))

    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=r"at most 100 actions.*would be action 101"):
            transaction_of(TRANSACTION_ACTION_LIMIT + 1, put)
        with pytest.raises(ValidationError, match="at most 100 actions"):
            transaction_of(TRANSACTION_ACTION_LIMIT + 1, check_then_update)
    assert sent == []
    assert limits.batch_get([Blob.key(blob_id=f"tx-{i}") for i in range(101)]) == [None] * 101


def test_a_transaction_over_4_mb_is_refused_before_any_request(table: Table) -> None:
    def put(tx: Any, i: int) -> None:
        tx.put(blob_of(ITEM_SIZE_LIMIT - 10_000, f"big-{i}"))

    with (
        requests_sent(table) as sent,
        pytest.raises(ValidationError, match="would bring the transaction to"),
    ):
        transaction_of(11, put)
    assert sent == []


def test_the_same_key_twice_in_a_transaction_is_refused(table: Table) -> None:
    def put_then_delete(tx: Any, i: int) -> None:
        if i == 0:
            tx.put(Blob(blob_id="twice"))
        else:
            tx.delete(Blob.key(blob_id="twice"))

    with requests_sent(table) as sent, pytest.raises(ValidationError, match="one action per item"):
        transaction_of(2, put_then_delete)
    assert sent == []


@pytest.mark.requires("transactions")
def test_100_transaction_actions_commit(table: Table) -> None:
    blobs = [Blob(blob_id=f"hundred-{i}", body=str(i)) for i in range(TRANSACTION_ACTION_LIMIT)]
    with requests_sent(table) as sent:
        tx = transaction_of(len(blobs), lambda tx, i: tx.put(blobs[i]))
    assert sent == ["TransactWriteItems"]
    assert tx.state == "committed"
    assert limits.batch_get(blobs, consistent=True) == blobs


def test_transact_get_of_101_keys_is_refused_before_any_request(table: Table) -> None:
    keys = [Blob.key(blob_id=f"tg-{i}") for i in range(TRANSACTION_ACTION_LIMIT + 1)]
    with (
        requests_sent(table) as sent,
        pytest.raises(ValidationError, match="at most 100 distinct keys, got 101"),
    ):
        limits.transact_get(keys)
    assert sent == []


@pytest.mark.requires("transactions")
def test_transact_get_with_repeated_and_missing_keys(table: Table) -> None:
    # 25 distinct keys: moto still applies TransactGetItems' former limit of 25.
    blobs = [Blob(blob_id=f"tg-{i}", body=str(i)) for i in range(20)]
    with limits.batch_write() as batch:
        for blob in blobs:
            batch.put(blob)
    keys = [Blob.key(blob_id=f"tg-{i}") for i in range(25)]
    assert limits.transact_get(keys + keys[:5]) == [*blobs, *[None] * 5, *blobs[:5]]


@pytest.mark.parametrize(
    "operation",
    [
        lambda: limits.batch_get(["BLOB#x"]),  # type: ignore[list-item]
        lambda: limits.batch_get([{"PK": {"S": "BLOB#x"}, "SK": {"S": "BLOB"}}]),  # type: ignore[list-item]
        lambda: _batch_put("not an entity"),  # type: ignore[arg-type]
        lambda: _transact_put(Blob.key(blob_id="x")),  # type: ignore[arg-type]
        lambda: limits.transact_get([None]),  # type: ignore[list-item]
    ],
    ids=["batch_get text", "batch_get raw key", "batch put text", "tx put key", "tx get None"],
)
def test_wrong_types_in_batches_and_transactions_are_refused(
    table: Table, operation: Callable[[], Any]
) -> None:
    with requests_sent(table) as sent, pytest.raises(ValidationError):
        operation()
    assert sent == []


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda: Num.query(num_id="x").where(Num.value.is_in()).all(), "got 0"),
        (lambda: Num.scan().where(Num.value.is_in(*range(101))).all(), "got 101"),
        (lambda: Num(num_id="x").save(condition=Num.value.is_in()), "got 0"),
        (lambda: Num.update_by_key(Num.key(num_id="x"), Num.values.add(set())), "cannot be empty"),
        (lambda: Num.update_by_key(Num.key(num_id="x"), Num.values.delete(set())), "be empty"),
    ],
    ids=["in none", "in 101", "condition in none", "add empty set", "delete empty set"],
)
def test_operands_dynamodb_refuses_are_refused_before_any_request(
    table: Table, operation: Callable[[], Any], message: str
) -> None:
    with requests_sent(table) as sent, pytest.raises(ValidationError, match=message):
        operation()
    assert sent == []


def test_in_takes_up_to_100_values(table: Table) -> None:
    Num(num_id="in", value=99).save()
    query = Num.query(num_id="in").consistent()
    assert query.where(Num.value.is_in(*range(100))).count() == 1
    assert query.where(Num.value.is_in(100)).count() == 0
