"""The lean codec's JSON: orjson writes and reads bodies, and what orjson declines takes the
standard library's path, so every body means what the standard encoder's text means."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from dynaorm.base.typed_json import jsonable
from dynaorm.wire.lean_codec import decode_body, encode_request


def _standard(params: Any) -> Any:
    return json.loads(json.dumps(params, default=jsonable))


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.text(),  # lone surrogates included
        st.binary(max_size=8),
        st.frozensets(st.text(max_size=3), max_size=3),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_a_body_means_what_the_standard_encoder_writes(params: dict[str, Any]) -> None:
    assert json.loads(encode_request(params)) == _standard(params)


@pytest.mark.parametrize(
    "params",
    [
        {"S": "\ud800"},  # a lone surrogate: orjson refuses it, json escapes it
        {1: "x"},  # a key that is not text
        {"N": 2**70},  # beyond 64 bits
        {"B": bytearray(b"\x00\x01")},
        {"SS": {"b", "a"}},
    ],
    ids=["surrogate", "int-key", "big-int", "bytearray", "set"],
)
def test_what_orjson_declines_is_still_encoded(params: dict[Any, Any]) -> None:
    body = encode_request(params)
    assert json.loads(body) == _standard(params)
    assert b": " not in body  # compact on both paths


def test_values_json_cannot_hold_are_refused_as_before() -> None:
    from datetime import datetime

    with pytest.raises(TypeError, match="cannot encode datetime"):
        encode_request({"at": datetime(2026, 1, 1)})


def test_responses_orjson_declines_read_as_json_reads_them() -> None:
    assert math.isnan(decode_body(b'{"a": NaN}')["a"])
    assert decode_body(b'{"Item": {"x": {"B": "AA=="}}, "n": null}') == {
        "Item": {"x": {"B": b"\x00"}}
    }
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        decode_body(b"not json")
