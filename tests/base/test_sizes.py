"""The one item-size calculator (dynaorm.base.sizes) against a slow reference of DynamoDB's rules.

The reference below is written from DynamoDB's documentation ("Item sizes and formats"), not
from the module: names and text by UTF-8 bytes, binary by raw bytes, numbers by significant
digits (leading and trailing zeros trimmed: 1 byte per two digits, plus 1), booleans and nulls
1 byte, sets the sum of their members, lists and maps 3 bytes plus 1 byte per element (and a
map member's name).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from typed_values import PLAIN_NUMBERS, TEXTS, scalars, typed_items

from dynaorm import ValidationError
from dynaorm.base.limits import NESTING_LIMIT, check_value
from dynaorm.base.sizes import check_item, item_size, plain_item_size, value_size


def reference_digits(text: str) -> int:
    """Significant digits of number text, by plain-notation text surgery."""
    plain = format(Decimal(text), "f").lstrip("-").replace(".", "")
    return len(plain.strip("0")) or 1


def reference_size(value: dict[str, Any]) -> int:
    (kind,) = value
    raw = value[kind]
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return (reference_digits(raw) + 1) // 2 + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        single = {"SS": "S", "NS": "N", "BS": "B"}[kind]
        return sum(reference_size({single: member}) for member in raw)
    if kind == "L":
        return 3 + sum(1 + reference_size(member) for member in raw)
    assert kind == "M"
    return 3 + sum(
        1 + len(name.encode("utf-8")) + reference_size(member) for name, member in raw.items()
    )


def reference_item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode("utf-8")) + reference_size(v) for name, v in item.items())


# Number text in every notation a server or a client may send: exponents, leading zeros,
# signs, trailing zeros; some past 38 digits or out of range (which the checks refuse).
odd_numbers = st.builds(
    lambda sign, lead, digits, point, exp: (
        f"{sign}{lead}{digits[:point]}"
        + (f".{digits[point:]}" if digits[point:] else "")
        + (f"E{exp}" if exp is not None else "")
    ),
    st.sampled_from(["", "-", "+"]),
    st.sampled_from(["", "0", "00"]),
    st.text("0123456789", min_size=1, max_size=45),
    st.integers(1, 45),
    st.none() | st.integers(-140, 140),
)
leaves = scalars(PLAIN_NUMBERS | odd_numbers, empty_sets=True)
items = typed_items(leaves)


def nested(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    value = leaf
    for level in range(depth):
        value = {"M": {"k": value}} if level % 2 else {"L": [value]}
    return value


def plainly_valid(value: dict[str, Any]) -> bool:
    try:
        check_value(value, what="x")
    except ValidationError:
        return False
    return True


@settings(max_examples=400)
@given(items)
def test_item_size_is_the_reference_size(item: dict[str, dict[str, Any]]) -> None:
    assert item_size(item) == reference_item_size(item)
    for value in item.values():
        assert value_size(value) == reference_size(value)


@settings(max_examples=400)
@given(items)
def test_the_fast_path_measures_exactly_and_only_values_the_checks_accept(
    item: dict[str, dict[str, Any]],
) -> None:
    fast = plain_item_size(item)
    if fast is not None:
        assert fast == reference_item_size(item)
        assert all(plainly_valid(value) for value in item.values())


@given(st.dictionaries(TEXTS, TEXTS.map(lambda t: {"S": t}), max_size=6))
def test_plain_items_take_the_fast_path(item: dict[str, dict[str, Any]]) -> None:
    assert plain_item_size(item) == reference_item_size(item)


@given(st.integers(0, NESTING_LIMIT + 3), leaves)
def test_nesting_past_the_limit_is_measured_exactly(depth: int, leaf: dict[str, Any]) -> None:
    value = nested(depth, leaf)
    assert value_size(value) == reference_size(value)
    assert item_size({"a": value}) == 1 + reference_size(value)
    if depth > NESTING_LIMIT:
        assert plain_item_size({"a": value}) is None  # the checks refuse it: not plainly valid


@pytest.mark.parametrize(
    "value",
    [
        {"SS": []},
        {"NS": []},
        {"N": "NaN"},
        {"N": "1" * 39},
        {"N": "1E+200"},
        {"S": 5},
        {"SS": ["a", 5]},
        {"B": "not bytes"},
        {"BS": [b"a"]},  # (valid, but left to the exact path)
    ],
)
def test_values_the_fast_path_leaves_to_the_exact_path(value: dict[str, Any]) -> None:
    assert plain_item_size({"a": value}) is None


def test_surrogates_fail_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        item_size({"a": {"S": "\ud800"}})
    assert plain_item_size({"\ud800": {"S": "x"}}) is None


def test_check_item_names_the_largest_attributes() -> None:
    item = {"big": {"B": b"x" * 409_600}, "PK": {"S": "A"}}
    with pytest.raises(ValidationError, match=r"409,606 bytes.*big \(409,603 bytes\)"):
        check_item(item, what="the item")
