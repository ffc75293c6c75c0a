"""Hostile key values: delimiters, template text, unicode, control characters, empty and huge.

Every value either builds a key that reads back as exactly itself, in its own partition, or is
refused with ``ValidationError`` before any request is sent. No value forges another entity's
key or another partition's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from support import fresh_table, requests_sent

from dynaorm import Entity, Index, ItemKey, Key, Table, ValidationError

hostile = Table("test-hostile-keys", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Customer(Entity, table=hostile):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER#{customer_id}")


class Order(Entity, table=hostile):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")


class Line(Entity, table=hostile):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    seq = NumberAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="LINE#{order_id}#{seq:04d}")


# Pieces an attacker would splice into a value: the delimiter, the templates' literal text,
# format syntax, control and invisible characters, multi-byte text.
FRAGMENTS = [
    "#",
    "##",
    "CUSTOMER",
    "ORDER",
    "PROFILE",
    "LINE",
    "EMAIL",
    "#ORDER#x",
    "CUSTOMER#",
    "{",
    "}",
    "{customer_id}",
    "%s",
    "\x00",
    "\n",
    "\t",
    "\x1f",
    "\x7f",
    "\u200b",
    "\u202e",
    "\ufeff",
    "é",
    "e\u0301",
    "💥",
    " ",
    "$",
    "\\",
    "'",
    '"',
    "0001",
    "x",
]
hostile_text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24),
)
lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)

SERVER = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def usable(value: str) -> bool:
    """A text value that may be part of a key: not empty, no delimiter."""
    return bool(value) and "#" not in value


@pytest.fixture(scope="module")
def table(dynamodb_endpoint: str) -> Iterator[Table]:
    """One table for the module, so property tests with server round trips stay quick."""
    with fresh_table(hostile, dynamodb_endpoint) as made:
        yield made


def raw_get(table: Table, key: ItemKey) -> dict[str, Any]:
    request = {"TableName": table.name, "Key": key.to_request(), "ConsistentRead": True}
    item: dict[str, Any] = table.call("GetItem", request, idempotent=True).get("Item", {})
    return item


# Every way a key value reaches a request; each must refuse a bad value before sending.
OPERATIONS: list[tuple[str, Callable[[str], Any]]] = [
    ("save", lambda v: Order(customer_id=v, order_id="o1").save()),
    ("save sort", lambda v: Order(customer_id="c1", order_id=v).save()),
    ("save index", lambda v: Customer(customer_id="c1", email=v).save()),
    ("to_item", lambda v: Customer(customer_id=v).to_item()),
    ("key", lambda v: Order.key(customer_id="c1", order_id=v)),
    ("get", lambda v: Customer.get(customer_id=v)),
    ("delete", lambda v: Order(customer_id=v, order_id="o1").delete()),
    ("update", lambda v: Order.update_by_key(Order.key(customer_id=v, order_id="o"))),
    ("query", lambda v: Order.query(customer_id=v).all()),
    ("index query", lambda v: Customer.by_email.query(email=v).all()),
    ("range", lambda v: Order.query(customer_id="c1").range(Order.order_id >= v).all()),
    ("startswith", lambda v: Order.query(customer_id="c1").range(Order.order_id.startswith(v))),
    ("partition", lambda v: hostile.partition(Customer.primary, customer_id=v)),
    ("batch get", lambda v: hostile.batch_get([Customer.key(customer_id=v)])),
    ("batch write", lambda v: _batch_put(Order(customer_id=v, order_id="o1"))),
    ("transaction", lambda v: _transact_put(Order(customer_id="c1", order_id=v))),
]


def _batch_put(entity: Entity) -> None:
    with hostile.batch_write() as batch:
        batch.put(entity)


def _transact_put(entity: Entity) -> None:
    with hostile.transaction() as tx:
        tx.put(entity)


# -- pure: building and parsing -----------------------------------------------------------


@given(value=hostile_text)
@settings(max_examples=300)
def test_a_value_builds_its_own_key_or_is_refused(value: str) -> None:
    if not usable(value):
        for build in (
            lambda: Customer.key(customer_id=value),
            lambda: Order.key(customer_id="c1", order_id=value),
            lambda: Line.key(customer_id=value, order_id="o1", seq=1),
            lambda: Customer(customer_id="c1", email=value).to_item(),
        ):
            with pytest.raises(ValidationError, match=r"delimiter|must not be empty"):
                build()
        return
    order = Order.key(customer_id=value, order_id=value).key
    assert order == {"PK": "CUSTOMER#" + value, "SK": "ORDER#" + value}
    raw = {name: {"S": text} for name, text in order.items()}
    assert Order.primary.parse(raw) == {"customer_id": value, "order_id": value}
    # The key reads as an Order key only: never as another entity's sort key.
    assert not Customer.primary.sk.matches(order["SK"])  # type: ignore[union-attr]
    assert not Line.primary.sk.matches(order["SK"])  # type: ignore[union-attr]
    line = Line.key(customer_id=value, order_id=value, seq=7).key
    assert line["SK"] == f"LINE#{value}#0007"
    assert not Order.primary.sk.matches(line["SK"])  # type: ignore[union-attr]
    index = Customer(customer_id=value, email=value).to_item()
    assert index["GSI1PK"] == {"S": "EMAIL#" + value}
    assert Customer.by_email.parse(index) == {"email": value, "customer_id": value}


@given(a=hostile_text, b=hostile_text, x=hostile_text, y=hostile_text)
@settings(max_examples=300)
def test_keys_are_injective(a: str, b: str, x: str, y: str) -> None:
    """Two different value tuples never build the same key, whatever they contain."""
    if not all(map(usable, (a, b, x, y))):
        return
    first = Order.key(customer_id=a, order_id=x)
    second = Order.key(customer_id=b, order_id=y)
    assert (first == second) == ((a, x) == (b, y))
    assert first.key != Line.key(customer_id=b, order_id=y, seq=0).key
    assert first.key != Customer.key(customer_id=b).key


@pytest.mark.parametrize(
    "value",
    ["1#ORDER#9", "#", "c1#", "#c1", "c1##PROFILE", "x#ORDER#x", "CUSTOMER#c2", "o1#0001"],
)
@pytest.mark.parametrize("operation", [o[1] for o in OPERATIONS], ids=[o[0] for o in OPERATIONS])
def test_a_value_with_the_delimiter_is_refused_before_any_request(
    table: Table, operation: Callable[[str], Any], value: str
) -> None:
    with requests_sent(table) as sent, pytest.raises(ValidationError, match="delimiter '#'"):
        operation(value)
    assert sent == []


@pytest.mark.parametrize("operation", [o[1] for o in OPERATIONS], ids=[o[0] for o in OPERATIONS])
def test_an_empty_value_is_refused_before_any_request(
    table: Table, operation: Callable[[str], Any]
) -> None:
    with requests_sent(table) as sent, pytest.raises(ValidationError, match="must not be empty"):
        operation("")
    assert sent == []


@given(left=hostile_text, surrogate=lone_surrogates, right=hostile_text)
@settings(max_examples=50)
def test_a_lone_surrogate_is_refused_as_invalid_text(left: str, surrogate: str, right: str) -> None:
    value = left.replace("#", "") + surrogate + right.replace("#", "")
    with pytest.raises(ValidationError, match="lone surrogate"):
        Customer.key(customer_id=value)
    with pytest.raises(ValidationError, match="lone surrogate"):
        Order.query(customer_id=value)


@pytest.mark.parametrize("operation", [o[1] for o in OPERATIONS], ids=[o[0] for o in OPERATIONS])
def test_a_lone_surrogate_is_refused_before_any_request(
    table: Table, operation: Callable[[str], Any]
) -> None:
    with requests_sent(table) as sent, pytest.raises(ValidationError, match="lone surrogate"):
        operation("ab\udc80cd")
    assert sent == []


@pytest.mark.parametrize(
    ("seq", "message"),
    [
        (-1, "negative numbers"),
        (10_000, "does not fit in 4 characters"),
        (1.5, "needs a whole number"),
        (float("nan"), "NaN and infinity"),
        (float("inf"), "NaN and infinity"),
        (True, "expected a number"),
        ("7", "expected a number"),
        (None, "'seq'"),
    ],
)
def test_unusable_numbers_in_keys_are_refused_before_any_request(
    table: Table, seq: Any, message: str
) -> None:
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=message):
            Line(customer_id="c1", order_id="o1", seq=seq).save()
        with pytest.raises(ValidationError, match=message):
            Line.get(customer_id="c1", order_id="o1", seq=seq)
    assert sent == []


# -- the server: round trips and no forgery -----------------------------------------------


@given(value=hostile_text)
@SERVER
def test_hostile_values_round_trip_in_their_own_partition(table: Table, value: str) -> None:
    if not usable(value):
        with requests_sent(table) as sent:
            with pytest.raises(ValidationError):
                Order(customer_id=value, order_id=value).save()
            with pytest.raises(ValidationError):
                Order.query(customer_id=value)
        assert sent == []
        return
    Customer(customer_id=value, email=value).save()
    Order(customer_id=value, order_id=value, note=value).save()
    Line(customer_id=value, order_id=value, seq=1).save()

    customer = Customer.get(customer_id=value, consistent=True)
    assert customer is not None
    assert (customer.customer_id, customer.email) == (value, value)
    stored = raw_get(table, Order.key(customer_id=value, order_id=value))
    assert stored["PK"] == {"S": "CUSTOMER#" + value}
    assert stored["SK"] == {"S": "ORDER#" + value}
    assert stored["order_id"] == {"S": value}

    orders = Order.query(customer_id=value).consistent().all()
    assert all(o.customer_id == value for o in orders)
    assert value in {o.order_id for o in orders}
    collection = table.partition(Customer.primary, customer_id=value, consistent=True)
    assert {type(e) for e in collection} == {Customer, Order, Line}
    assert all(
        isinstance(e, Customer | Order | Line) and e.customer_id == value for e in collection
    )
    assert not collection.unknown
    by_email = Customer.by_email.query(email=value).all()
    assert all(c.email == value for c in by_email)


def test_canonically_equal_text_stays_distinct(table: Table) -> None:
    """Keys compare as bytes: composed and decomposed accents are two customers."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    Customer(customer_id=composed, email="a").save()
    Customer(customer_id=decomposed, email="b").save()
    first = Customer.get(customer_id=composed, consistent=True)
    second = Customer.get(customer_id=decomposed, consistent=True)
    assert first is not None
    assert second is not None
    assert (first.customer_id, first.email) == (composed, "a")
    assert (second.customer_id, second.email) == (decomposed, "b")


def test_control_characters_and_zero_width_text_round_trip(table: Table) -> None:
    values = ["\x00", "\x01\x02", "a\nb", "\t", "\u200b", "\u202eevil", "\ufeff", "\x7f"]
    for value in values:
        Order(customer_id="ctl" + uuid.uuid4().hex, order_id=value).save()
        Customer(customer_id=value, email=value).save()
    for value in values:
        customer = Customer.get(customer_id=value, consistent=True)
        assert customer is not None
        assert customer.email == value
    results = table.batch_get([Customer.key(customer_id=v) for v in values])
    assert [c.customer_id if c else None for c in results] == values


def test_a_forged_looking_value_stays_in_its_partition(table: Table) -> None:
    """Template text without the delimiter is just text: "CUSTOMERc2" is not customer c2."""
    suffix = uuid.uuid4().hex[:8]
    victim, attacker = f"v{suffix}", f"CUSTOMER{suffix}ORDER"
    Order(customer_id=victim, order_id="secret", note="victim's").save()
    Order(customer_id=attacker, order_id="PROFILE", note="attacker's").save()
    seen = Order.query(customer_id=attacker).consistent().all()
    assert [(o.customer_id, o.note) for o in seen] == [(attacker, "attacker's")]
    victims = Order.query(customer_id=victim).consistent().all()
    assert [(o.customer_id, o.note) for o in victims] == [(victim, "victim's")]
    assert Customer.get(customer_id=attacker, consistent=True) is None


# -- key size --------------------------------------------------------------------------------

PK_ROOM = 2048 - len("CUSTOMER#")
SK_ROOM = 1024 - len("ORDER#")


@pytest.mark.parametrize(
    ("customer_id", "order_id"),
    [
        ("x" * PK_ROOM, "o1"),
        ("é" * (PK_ROOM // 2) + "x" * (PK_ROOM % 2), "o1"),
        ("c-big-sk", "y" * SK_ROOM),
        ("💥" * (PK_ROOM // 4) + "z" * (PK_ROOM % 4), "ü" * (SK_ROOM // 2)),
    ],
    ids=["pk ascii", "pk 2-byte", "sk ascii", "both multi-byte"],
)
def test_keys_at_the_size_limits_round_trip(table: Table, customer_id: str, order_id: str) -> None:
    key = Order.key(customer_id=customer_id, order_id=order_id)
    assert len(key.key["PK"].encode()) <= 2048
    assert len(key.key["SK"].encode()) <= 1024
    Order(customer_id=customer_id, order_id=order_id, note="big").save()
    got = Order.get(customer_id=customer_id, order_id=order_id, consistent=True)
    assert got is not None
    assert (got.customer_id, got.order_id, got.note) == (customer_id, order_id, "big")
    assert [o.order_id for o in Order.query(customer_id=customer_id).consistent()] == [order_id]


OVERSIZED: list[tuple[str, Callable[[], Any]]] = [
    ("pk save", lambda: Order(customer_id="x" * (PK_ROOM + 1), order_id="o1").save()),
    ("pk bytes", lambda: Order(customer_id="💥" * 513, order_id="o1").save()),
    ("pk get", lambda: Customer.get(customer_id="é" * 1100)),
    ("pk query", lambda: Order.query(customer_id="x" * 5000).all()),
    ("pk partition", lambda: hostile.partition(Customer.primary, customer_id="x" * 3000)),
    ("sk save", lambda: Order(customer_id="c1", order_id="y" * (SK_ROOM + 1)).save()),
    ("sk bytes", lambda: Order(customer_id="c1", order_id="ü" * 510).save()),
    ("sk get", lambda: Order.get(customer_id="c1", order_id="y" * 1100)),
    ("sk delete", lambda: Order(customer_id="c1", order_id="y" * 1100).delete()),
    ("sk update", lambda: Order.update_by_key(Order.key(customer_id="c", order_id="y" * 1100))),
    ("index pk", lambda: Customer(customer_id="c1", email="e" * 2100).save()),
    ("index sk", lambda: Customer(customer_id="c" * 1020, email="e").save()),
    ("index query", lambda: Customer.by_email.query(email="e" * 2100).all()),
    ("range prefix", lambda: Line.query(customer_id="c").range(Line.order_id == "o" * 1100)),
    ("batch get", lambda: hostile.batch_get([Customer.key(customer_id="x" * 2100)])),
    ("batch write", lambda: _batch_put(Order(customer_id="c1", order_id="y" * 1100))),
    ("transaction", lambda: _transact_put(Order(customer_id="x" * 2100, order_id="o"))),
]


@pytest.mark.parametrize("operation", [o[1] for o in OVERSIZED], ids=[o[0] for o in OVERSIZED])
def test_oversized_keys_are_refused_before_any_request(
    table: Table, operation: Callable[[], Any]
) -> None:
    with (
        requests_sent(table) as sent,
        pytest.raises(ValidationError, match=r"builds a key of [\d,]+ bytes; DynamoDB allows"),
    ):
        operation()
    assert sent == []


def test_the_size_message_names_the_template_and_fields() -> None:
    with pytest.raises(
        ValidationError,
        match=r"^Order\.primary\.sk key template 'ORDER#\{order_id\}' builds a key of 1,025 "
        r"bytes; DynamoDB allows 1,024 \(UTF-8\) here\. Shorten order_id$",
    ):
        Order.key(customer_id="c1", order_id="y" * (SK_ROOM + 1))
