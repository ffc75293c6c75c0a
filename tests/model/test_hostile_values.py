"""Values no attribute can encode, through every write path: an aware datetime whose UTC value
overflows, maps and lists nested past DynamoDB's 32 levels (or past Python's recursion limit),
map keys that are not text, sets of mixed types, NaN in a number set, bytes subclasses and
``Decimal`` where a ``NumberAttribute`` is declared.

Each is a ``ValidationError`` naming the attribute before any request (counted on the wire),
whichever way it is sent: ``save()``, ``to_item()``, a transaction or batch put, an update
(``set``, ``append``, in a transaction too), a condition, a transaction check, or a filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from support import fresh_table, requests_sent

from dynaorm import DecimalAttribute, Entity, Key, Table, ValidationError

hostile = Table("test-hostile-values")


class Address(MapAttribute[str, Any]):
    city = UnicodeAttribute(null=True)
    amount = DecimalAttribute(null=True)
    since = UTCDateTimeAttribute(null=True)


class Thing(Entity, table=hostile):
    thing_id = UnicodeAttribute()
    when = UTCDateTimeAttribute(null=True)
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    items = ListAttribute(null=True)  # type: ignore[var-annotated]
    number = NumberAttribute(null=True)
    numbers = NumberSetAttribute(null=True)
    texts = UnicodeSetAttribute(null=True)
    blob = BinaryAttribute(null=True, legacy_encoding=False)
    flag = BooleanAttribute(null=True)
    address = Address(null=True)
    primary = Key(pk="THING#{thing_id}", sk="THING")


class Stamped(Entity, table=hostile):
    """A datetime in the key as well: the key codec must refuse the overflow too."""

    at = UTCDateTimeAttribute()
    primary = Key(pk="STAMPED", sk="AT#{at}")


@pytest.fixture(scope="module")
def table(dynamodb_endpoint: str) -> Iterator[Table]:
    with fresh_table(hostile, dynamodb_endpoint) as made:
        yield made


def nested_map(levels: int) -> dict[str, Any]:
    """``levels`` maps, each holding the next (the innermost holds a number)."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


def nested_list(levels: int) -> list[Any]:
    """``levels`` lists, each holding the next (the innermost holds a number)."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value  # type: ignore[no-any-return]


def nested_mixed(levels: int) -> Any:
    """``levels`` lists and maps, alternating (the outermost a list), each holding the next."""
    value: Any = 1
    for level in range(levels):
        value = [value] if (levels - 1 - level) % 2 == 0 else {"a": value}
    return value


class Bytes(bytes):
    """A bytes subclass: PynamoDB picks encoders by exact type, so it has none."""


WEST = timezone(timedelta(hours=-5))
EAST = timezone(timedelta(hours=5))

# (id, attribute name, hostile value, text the error must contain)
CASES: list[tuple[str, str, Any, str]] = [
    ("datetime over 9999 UTC", "when", datetime(9999, 12, 31, 23, 0, tzinfo=WEST), "UTC"),
    ("datetime before year 1 UTC", "when", datetime(1, 1, 1, 1, 0, tzinfo=EAST), "UTC"),
    ("map in map 33 levels", "meta", nested_map(33), "DynamoDB allows 32"),
    ("list in list 33 levels", "items", nested_list(33), "DynamoDB allows 32"),
    ("map nested 900 levels", "meta", nested_map(900), "DynamoDB allows 32"),
    ("list nested 900 levels", "items", nested_list(900), "DynamoDB allows 32"),
    ("lists and maps 33 levels", "items", nested_mixed(33), "DynamoDB allows 32"),
    ("int map key", "meta", {1: "one"}, "map keys are text"),
    ("nested bytes map key", "meta", {"ok": {b"k": "v"}}, "map keys are text"),
    ("map key in a list", "items", [{None: 1}], "map keys are text"),
    ("mixed set in a map", "meta", {"s": {1, "a"}}, "set"),
    ("empty set in a list", "items", [set()], "empty set"),
    ("mixed string set", "texts", {"a", 1}, "non-text members"),
    ("text in a number set", "numbers", {1, "2"}, "not a number"),
    ("NaN in a number set", "numbers", {1.0, float("nan")}, "NaN or infinity"),
    ("infinity in a number set", "numbers", {float("inf")}, "NaN or infinity"),
    ("bytes subclass in a map", "meta", {"b": Bytes(b"x")}, "Unsupported value type"),
    ("bytes subclass in a list", "items", [Bytes(b"x")], "Unsupported value type"),
    ("Decimal number", "number", Decimal("19.99"), "DecimalAttribute"),
    ("Decimal in a number set", "numbers", {Decimal("1.5")}, "DecimalAttribute"),
    ("Decimal in a map", "meta", {"d": Decimal("1.5")}, "DecimalAttribute"),
    ("Decimal in a list", "items", [Decimal("1.5")], "DecimalAttribute"),
    ("float in a typed map decimal", "address", {"amount": 1.5}, "Decimal or int"),
    ("datetime in a typed map", "address", {"since": datetime(1, 1, 1, tzinfo=EAST)}, "UTC"),
]


def _put_in_transaction(thing: Thing) -> None:
    with hostile.transaction() as tx:
        tx.put(thing)


def _put_in_batch(thing: Thing) -> None:
    with hostile.batch_write() as batch:
        batch.put(thing)


def _update_in_transaction(action: Callable[[], Any]) -> None:
    with hostile.transaction() as tx:
        tx.update(Thing.key(thing_id="h"), action())


def _check_in_transaction(condition: Callable[[], Any]) -> None:
    with hostile.transaction() as tx:
        tx.check(Thing.key(thing_id="h"), condition())


def writes(name: str, value: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Every way ``value`` can be sent for attribute ``name``."""
    attribute: Attribute[Any] = getattr(Thing, name)
    key = Thing.key(thing_id="h")
    out: list[tuple[str, Callable[[], Any]]] = [
        ("save", lambda: Thing(thing_id="h", **{name: value}).save()),
        ("to_item", lambda: Thing(thing_id="h", **{name: value}).to_item()),
        ("tx.put", lambda: _put_in_transaction(Thing(thing_id="h", **{name: value}))),
        ("batch.put", lambda: _put_in_batch(Thing(thing_id="h", **{name: value}))),
        ("update set", lambda: Thing.update_by_key(key, attribute.set(value))),
        ("tx.update set", lambda: _update_in_transaction(lambda: attribute.set(value))),
        ("condition", lambda: Thing(thing_id="h").save(condition=attribute == value)),
        ("delete condition", lambda: Thing(thing_id="h").delete(condition=attribute != value)),
        ("tx.check", lambda: _check_in_transaction(lambda: attribute == value)),
        ("query filter", lambda: Thing.query(thing_id="h").where(attribute == value).all()),
        ("scan filter", lambda: Thing.scan().where(attribute == value).all()),
    ]
    if isinstance(value, list):
        out.append(
            (
                "update append",
                lambda: Thing.update_by_key(key, attribute.set(attribute.append(value))),
            )
        )
        out.append(
            (
                "update prepend",
                lambda: Thing.update_by_key(key, attribute.set(attribute.prepend(value))),
            )
        )
    if isinstance(value, set) and value and name == "numbers":
        out.append(("update add", lambda: Thing.update_by_key(key, attribute.add(value))))
    return out


@pytest.mark.parametrize(
    ("name", "value", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_values_are_refused_on_every_write_path_before_any_request(
    table: Table, name: str, value: Any, message: str
) -> None:
    with requests_sent(table) as sent:
        for path, write in writes(name, value):
            with pytest.raises(ValidationError) as caught:
                write()
            assert message in str(caught.value), (path, str(caught.value))
    assert sent == []
    assert Thing.get(thing_id="h", consistent=True) is None  # nothing was stored


@pytest.mark.parametrize(
    ("name", "value", "pattern"),
    [
        ("when", datetime(9999, 12, 31, 23, 0, tzinfo=WEST), r"^Thing\.when: "),
        ("meta", nested_map(900), r"^Thing\.meta: "),
        ("meta", {"ok": {7: "v"}}, r"^Thing\.meta\.ok: map key 7 is a int"),
        ("meta", {7: "v"}, r"^Thing\.meta: map key 7 is a int"),
        ("number", Decimal("1.5"), r"^Thing\.number: Decimal\('1\.5'\) cannot be stored"),
        ("address", {"amount": 1.5}, r"^Thing\.address: "),
    ],
    ids=["datetime", "deep map", "nested key", "top key", "decimal", "typed map"],
)
def test_the_error_names_the_attribute(table: Table, name: str, value: Any, pattern: str) -> None:
    with requests_sent(table) as sent, pytest.raises(ValidationError, match=pattern):
        Thing(thing_id="h", **{name: value}).save()
    assert sent == []


def test_nested_attributes_of_a_typed_map_are_guarded_in_expressions(table: Table) -> None:
    key = Thing.key(thing_id="h")
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=r"^Thing\.address\.amount: 1\.5 cannot"):
            Thing.update_by_key(key, Thing.address.amount.set(1.5))
        with pytest.raises(ValidationError, match=r"^Thing\.address\.since: .*UTC"):
            Thing.query(thing_id="h").where(
                Thing.address.since < datetime(9999, 12, 31, 23, tzinfo=WEST)
            ).all()
    assert sent == []


def test_an_overflowing_datetime_in_a_key_is_refused(table: Table) -> None:
    late = datetime(9999, 12, 31, 23, 0, tzinfo=WEST)
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=r"^Stamped\.at: .*out of range .* UTC"):
            Stamped(at=late).save()
        with pytest.raises(ValidationError, match=r"key template 'AT#\{at\}'.*out of range"):
            Stamped.get(at=late)
        with pytest.raises(ValidationError, match=r"key template 'AT#\{at\}'.*out of range"):
            Stamped.key(at=late)
    assert sent == []


def test_a_value_nested_deeper_through_its_path_is_refused(table: Table) -> None:
    """A value set at a nested path lands that many levels deeper: 31 levels under meta["k"]
    make 32 and are stored; 32 under it make 33 and are refused."""
    key = Thing.key(thing_id="deep-path")
    Thing(thing_id="deep-path", meta={}).save()
    with requests_sent(table) as sent, pytest.raises(ValidationError, match="DynamoDB allows 32"):
        Thing.update_by_key(key, Thing.meta["k"].set(nested_map(32)))
    assert sent == []
    Thing.update_by_key(key, Thing.meta["k"].set(nested_map(31)))
    got = Thing.get(thing_id="deep-path", consistent=True)
    assert got is not None
    assert got.meta is not None
    assert got.meta["k"] == nested_map(31)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("meta", nested_map(32)),
        ("items", nested_list(32)),
        ("items", nested_mixed(32)),
        ("when", datetime(9999, 12, 31, 18, 59, tzinfo=WEST)),
        ("when", datetime(1, 1, 1, 5, 0, tzinfo=EAST)),
        ("blob", Bytes(b"\x00\xff")),
        ("meta", {"é": {"ü": "x"}, "💥": [1, "a"]}),
    ],
    ids=[
        "map 32 levels",
        "list 32 levels",
        "mixed 32 levels",
        "last UTC",
        "first UTC",
        "declared bytes subclass",
        "unicode keys",
    ],
)
def test_values_at_the_limits_round_trip(table: Table, name: str, value: Any) -> None:
    thing = Thing(thing_id=f"edge-{name}", **{name: value})
    thing.save()
    got = Thing.get(thing_id=f"edge-{name}", consistent=True)
    assert got is not None
    stored = getattr(got, name)
    if isinstance(value, datetime):
        assert stored == value.astimezone(UTC)
    elif isinstance(value, bytes):
        assert stored == bytes(value)
    elif isinstance(stored, MapAttribute):
        assert stored.as_dict() == value
    else:
        assert stored == value
    Thing.update_by_key(thing.item_key, getattr(Thing, name).set(value))  # also as an update


def test_a_map_with_a_non_text_key_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match=r"^Thing\.meta: map key 1 is a int"):
        Thing(thing_id="h", meta={1: "one"})


# Values of the wrong Python type that PynamoDB would store as something else ("abc" as the set
# {"a", "b", "c"}, "no" as True) or fail on with an AttributeError or IndexError.
WRONG_TYPES: list[tuple[str, str, Any, str]] = [
    ("text for a datetime", "when", "2024-05-01", "holds datetime values, got str"),
    ("text for a string set", "texts", "abc", "holds a set, got str"),
    ("dict for a string set", "texts", {"a": 1}, "holds a set, got dict"),
    ("list with duplicates for a set", "numbers", [1, 1.0], "with duplicates"),
    ("text for a list", "items", "abc", "holds a list, got str"),
    ("dict for a list", "items", {"a": 1}, "holds a list, got dict"),
    ("list for a map", "meta", [1, 2], "holds a dict, got list"),
    ("text for a bool", "flag", "no", "holds True or False, got str"),
    (
        "bool for a number",
        "number",
        True,
        "expected a number (a NumberAttribute holds int or float), got bool",
    ),
    (
        "text for a number",
        "number",
        "5",
        "expected a number (a NumberAttribute holds int or float), got str",
    ),
]


@pytest.mark.parametrize(
    ("name", "value", "message"), [c[1:] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES]
)
def test_values_of_the_wrong_type_are_refused_not_converted(
    table: Table, name: str, value: Any, message: str
) -> None:
    attribute: Attribute[Any] = getattr(Thing, name)
    key = Thing.key(thing_id="h")
    with requests_sent(table) as sent:
        with pytest.raises(ValidationError, match=rf"^Thing\.{name}: .*{re.escape(message)}"):
            Thing(thing_id="h", **{name: value}).save()
        with pytest.raises(ValidationError, match=re.escape(message)):
            _put_in_batch(Thing(thing_id="h", **{name: value}))
        # (An update setting a list or map attribute to another type is refused as such.)
        with pytest.raises(ValidationError, match=rf"^Thing\.{name}: "):
            Thing.update_by_key(key, attribute.set(value))
    assert sent == []
