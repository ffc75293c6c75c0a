"""``typed_attribute_value`` (an update's guard values, key-only fields written back) gives
exactly what ``typed_value`` gives, value or error, for every attribute of an entity."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from test_pynamodb_equivalence import Everything

from dynaorm.expressions.typed_values import typed_value
from dynaorm.model.pynamodb_compat import typed_attribute_value

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.datetimes(timezones=st.none() | st.just(UTC) | st.just(timezone(timedelta(hours=2)))),
    st.sets(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


def _outcome(encode: Any, *args: Any) -> Any:
    try:
        return ("ok", encode(*args))
    except Exception as exc:
        return ("error", type(exc), str(exc))


@pytest.mark.parametrize("name", sorted(Everything.get_attributes()))
@settings(max_examples=60)
@given(value=anything)
def test_typed_attribute_value_is_typed_value(name: str, value: Any) -> None:
    attribute = Everything.get_attributes()[name]
    assert _outcome(typed_attribute_value, Everything, name, value) == _outcome(
        typed_value, attribute, value
    )
