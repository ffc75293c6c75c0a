"""The one document-path parser (dynaorm.expressions.paths): properties against a reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st
from pynamodb.attributes import AttributeContainer, ListAttribute, MapAttribute, UnicodeAttribute
from pynamodb.expressions.operand import Path

from dynaorm import ValidationError
from dynaorm.expressions.compile import ExpressionBuilder
from dynaorm.expressions.paths import (
    path_depth,
    path_head,
    path_names,
    path_of,
    path_steps,
    split_segment,
    top_name,
)

ASCII_DIGITS = "0123456789"


def reference_split(segment: str) -> tuple[str, str]:
    """Strip trailing ``[digits]`` groups one by one, scanning from the end."""
    name, indexes = segment, ""
    while name.endswith("]"):
        opening = name.rfind("[")
        inside = name[opening + 1 : -1]
        if opening < 0 or not inside or any(c not in ASCII_DIGITS for c in inside):
            break
        name, indexes = name[:opening], name[opening:] + indexes
    return name, indexes


# Names of any text, with the characters that matter to paths made likely.
# (Lone surrogates are refused before any request: tests/model/test_hostile_names.py.)
names = st.text(
    st.sampled_from(list("ab.[]:#0 9\n")) | st.characters(exclude_categories=("Cs",)), max_size=8
)
index_lists = st.lists(st.integers(0, 10**6), max_size=3)


def indexed(name: str, indexes: list[int]) -> str:
    return name + "".join(f"[{i}]" for i in indexes)


@given(st.text(st.sampled_from(list("ab[]0123456789٣\n")), max_size=12))
def test_split_segment_is_the_reference_split(segment: str) -> None:
    assert split_segment(segment) == reference_split(segment)


@given(st.lists(st.tuples(names, index_lists), min_size=1, max_size=4))
def test_text_paths_parse_into_their_names_and_indexes(parts: list[tuple[str, list[int]]]) -> None:
    path = Path([indexed(n, i) for n, i in parts])
    expected = [reference_split(indexed(n, i)) for n, i in parts]
    assert path_steps(path) == expected
    assert path_names(path) == [name for name, _ in expected]
    assert path_head(path) == (expected[0][0], bool(expected[0][1]) or len(parts) > 1)
    assert top_name(path) == expected[0][0]
    assert path_depth(path) == len(parts) - 1 + sum(ix.count("[") for _, ix in expected)


def attribute(cls: type, name: str, path: list[str] | None = None, **kw: Any) -> Any:
    a = cls(**kw)
    a.attr_name = name
    a.attr_path = path or [name]
    return a


@given(names.filter(bool), index_lists)
def test_an_attributes_exact_name_is_never_split(name: str, indexes: list[int]) -> None:
    # Indexing drops the attribute, as PynamoDB does; the unindexed path keeps it.
    lines = Path(attribute(ListAttribute, name))
    assert path_steps(lines) == [(name, "")]
    assert path_head(lines) == (name, False)
    assert path_depth(lines) == 0
    element = lines
    for i in indexes:
        element = element[i]
    if indexes:
        assert path_steps(element) == [reference_split(indexed(name, indexes))]


@given(names.filter(bool), names.filter(bool))
def test_a_typed_maps_member_path_keeps_both_names(outer: str, inner: str) -> None:
    member = attribute(UnicodeAttribute, inner, [outer, inner])
    path = Path(member)
    assert path_steps(path) == [(outer, ""), (inner, "")]
    assert path_head(path) == (outer, True)
    assert path_depth(path) == 1


@given(st.lists(st.tuples(names.filter(bool), index_lists), min_size=1, max_size=4))
def test_the_compiler_places_each_parsed_name(parts: list[tuple[str, list[int]]]) -> None:
    path = Path([indexed(n, i) for n, i in parts])
    steps = path_steps(path)
    if not all(name for name, _ in steps):
        with pytest.raises(ValidationError, match="empty attribute name"):
            ExpressionBuilder().path(path)
        return
    builder = ExpressionBuilder()
    compiled = builder.path(path)
    placeholders = builder.members().get("ExpressionAttributeNames", {})
    by_name = {n: p for p, n in placeholders.items()}
    assert compiled == ".".join(by_name[name] + ix for name, ix in steps)


def test_examples() -> None:
    class Doc(AttributeContainer):
        doc = MapAttribute(attr_name="d.c")  # type: ignore[var-annotated]

    assert path_steps(path_of(["grid[0][1]", "x"])) == [("grid", "[0][1]"), ("x", "")]
    assert path_depth(path_of(["grid[0][1]", "x"])) == 3
    assert path_head(Doc.doc["k"]) == ("d.c", True)
    assert path_steps(Doc.doc["k"]) == [("d.c", ""), ("k", "")]
    assert path_steps(path_of("x[y")) == [("x[y", "")]
    assert path_steps(path_of("a[1]b[2]")) == [("a[1]b", "[2]")]
    assert path_steps(path_of("a[٣]")) == [("a[٣]", "")]  # not an ASCII digit: part of the name
