"""The one encoder of DynamoDB data to JSON (dynaorm.base.typed_json), and its reverse."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, strategies as st
from typed_values import scalars, typed_items

from dynaorm.base.typed_json import (
    binary_from_text,
    binary_text,
    item_from_json,
    item_to_json,
    jsonable,
    to_json,
)

items = typed_items(scalars())


@given(items)
def test_items_round_trip_through_json_text(item: dict[str, Any]) -> None:
    assert item_from_json(json.loads(to_json(item))) == item
    assert item_from_json(item_to_json(item)) == item


@given(items, st.booleans())
def test_the_walk_and_the_encoder_write_the_same_json(item: dict[str, Any], ascii: bool) -> None:
    # Requests are encoded without a walk (binary may be anywhere in them); items by their
    # typed values. Both give one text.
    assert to_json(item, ensure_ascii=ascii) == json.dumps(item_to_json(item), ensure_ascii=ascii)


@given(st.binary())
def test_binary_is_standard_base64(payload: bytes) -> None:
    text = binary_text(payload)
    assert text == base64.b64encode(payload).decode("ascii")
    assert binary_from_text(text) == payload
    assert jsonable(bytearray(payload)) == text


@pytest.mark.parametrize("text", ["%%%", "AAE", "AA E=", "é", 5, None])
def test_binary_from_text_is_strict(text: Any) -> None:
    with pytest.raises(ValueError, match="base64"):
        binary_from_text(text)


def test_sets_are_sorted_and_other_objects_refused() -> None:
    assert to_json({"a": frozenset({3, 1, 2})}) == '{"a": [1, 2, 3]}'
    with pytest.raises(TypeError, match="cannot encode object"):
        to_json(object())


def test_item_to_json_refuses_what_is_not_a_typed_value() -> None:
    with pytest.raises(ValueError, match=r"attribute 'x': a binary value is bytes, not str"):
        item_to_json({"x": {"B": "AAE="}})
    with pytest.raises(ValueError, match=r"attribute 'x' has unknown type 'Q'"):
        item_to_json({"x": {"Q": "1"}})
