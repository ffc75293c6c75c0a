"""``to_item()`` checks the item in the same pass that encodes it: the size it measures is the
one the item walk gives, to the byte, at the 400 KB limit, for ASCII and other text, values
in maps and lists, and key attributes; anything the pass is unsure of is checked whole."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from dynaorm import Entity, Key, Table, ValidationError
from dynaorm.base.limits import ITEM_SIZE_LIMIT
from dynaorm.base.sizes import item_size

sized = Table("test-item-encoding")


class Blob(Entity, table=sized):
    blob_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    doc = MapAttribute(null=True)  # type: ignore[var-annotated]
    rows = ListAttribute(null=True)  # type: ignore[var-annotated]
    count = NumberAttribute(null=True)
    primary = Key(pk="BLOB#{blob_id}", sk="BLOB")


def _padding_for(limit: int, **values: Any) -> int:
    """The length of ASCII text ``text`` must have for the item to be ``limit`` bytes."""
    return limit - item_size(Blob(blob_id="b", text="", **values).to_item())


@pytest.mark.parametrize(
    "values",
    [{}, {"doc": {"a": "é", "n": 1}}, {"rows": [1, "x", {"k": True}]}, {"count": 12.5}],
    ids=["plain", "map", "list", "number"],
)
def test_the_limit_is_exact(values: dict[str, Any]) -> None:
    pad = _padding_for(ITEM_SIZE_LIMIT, **values)
    whole = Blob(blob_id="b", text="x" * pad, **values).to_item()
    assert item_size(whole) == ITEM_SIZE_LIMIT
    with pytest.raises(ValidationError, match="limited to"):
        Blob(blob_id="b", text="x" * (pad + 1), **values).to_item()


def test_non_ascii_text_counts_its_utf8_bytes() -> None:
    pad = _padding_for(ITEM_SIZE_LIMIT)
    assert pad % 2 == 0 or pad > 2
    wide = "é" * (pad // 2) + "x" * (pad % 2)  # two bytes a character
    assert item_size(Blob(blob_id="b", text=wide).to_item()) == ITEM_SIZE_LIMIT
    with pytest.raises(ValidationError, match="limited to"):
        Blob(blob_id="b", text=wide + "x").to_item()


def test_a_value_the_pass_is_unsure_of_is_checked_whole() -> None:
    with pytest.raises(ValidationError):
        Blob(blob_id="b", rows=[float("nan")]).to_item()
    with pytest.raises(ValidationError):
        Blob(blob_id="b", doc={"n": 10**40 + 1}).to_item()  # 41 significant digits


texts = st.text(max_size=30)
members = st.recursive(
    st.one_of(texts, st.integers(-(10**20), 10**20), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    blob_id=st.text(alphabet="abcé", min_size=1, max_size=5),
    text=st.none() | texts,
    doc=st.none() | st.dictionaries(texts, members, max_size=3),
    rows=st.none() | st.lists(members, max_size=3),
)
def test_to_item_accepts_what_the_walk_accepts(
    blob_id: str, text: str | None, doc: Any, rows: Any
) -> None:
    from dynaorm.model.validation import validate_item

    entity = Blob(blob_id=blob_id, text=text, doc=doc, rows=rows)
    try:
        whole = entity.to_item()
    except ValidationError:
        # Refused only where encoding or the whole-item check refuses too.
        encoded = entity._container_serialize(null_check=True)
        with pytest.raises(ValidationError):
            validate_item(Blob, encoded)
        return
    validate_item(Blob, whole)  # what it accepted, the walk accepts
