"""Compiling PynamoDB expression objects: expectation tables and properties, and the placeholders
of an entity's reserved and awkward attribute names (conditions and projections, one sent)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, strategies as st
from pynamodb.attributes import (
    AttributeContainer,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.operand import Path
from write_models import T, lab, raw_item, sample

from dynaorm import Table
from dynaorm.expressions.compile import (
    ExpressionBuilder,
    attribute_missing,
    conjoin,
    render,
)
from dynaorm.expressions.paths import path_of


class Dims(MapAttribute[str, Any]):
    width = NumberAttribute()
    unit = UnicodeAttribute(attr_name="u")


def attr(cls: type, name: str, **kw: Any) -> Any:
    a = cls(**kw)
    a.attr_name = name
    a.attr_path = [name]
    return a


class Doc(AttributeContainer):
    status = UnicodeAttribute()
    total = NumberAttribute()
    name = UnicodeAttribute()
    dotted = UnicodeAttribute(attr_name="a.b")
    bracketed = UnicodeAttribute(attr_name="x[y")
    colon = UnicodeAttribute(attr_name="c:d#e")
    tags = UnicodeSetAttribute()
    scores = NumberSetAttribute()
    lines = ListAttribute()  # type: ignore[var-annotated]
    meta = MapAttribute()  # type: ignore[var-annotated]
    dims = Dims()


status, total, name = Doc.status, Doc.total, Doc.name
dotted, bracketed, colon = Doc.dotted, Doc.bracketed, Doc.colon
tags, scores, lines, meta = Doc.tags, Doc.scores, Doc.lines, Doc.meta

N = {"N": "5"}

CONDITIONS: list[tuple[Condition, str, dict[str, str], dict[str, Any]]] = [
    (total > 5, "#n0 > :v0", {"#n0": "total"}, {":v0": N}),
    (total >= 5, "#n0 >= :v0", {"#n0": "total"}, {":v0": N}),
    (total < 5, "#n0 < :v0", {"#n0": "total"}, {":v0": N}),
    (total <= 5, "#n0 <= :v0", {"#n0": "total"}, {":v0": N}),
    (status == "PAID", "#n0 = :v0", {"#n0": "status"}, {":v0": {"S": "PAID"}}),
    (status != "PAID", "#n0 <> :v0", {"#n0": "status"}, {":v0": {"S": "PAID"}}),
    (
        total.between(1, 5),
        "#n0 BETWEEN :v0 AND :v1",
        {"#n0": "total"},
        {":v0": {"N": "1"}, ":v1": N},
    ),
    (
        status.is_in("A", "B"),
        "#n0 IN (:v0, :v1)",
        {"#n0": "status"},
        {":v0": {"S": "A"}, ":v1": {"S": "B"}},
    ),
    (name.startswith("Al"), "begins_with (#n0, :v0)", {"#n0": "name"}, {":v0": {"S": "Al"}}),
    (tags.contains("x"), "contains (#n0, :v0)", {"#n0": "tags"}, {":v0": {"S": "x"}}),
    (name.exists(), "attribute_exists (#n0)", {"#n0": "name"}, {}),
    (name.does_not_exist(), "attribute_not_exists (#n0)", {"#n0": "name"}, {}),
    (name.is_type(), "attribute_type (#n0, :v0)", {"#n0": "name"}, {":v0": {"S": "S"}}),
    (size(lines) > 5, "size (#n0) > :v0", {"#n0": "lines"}, {":v0": N}),
    (
        (total > 5) & (status == "PAID"),
        "(#n0 > :v0 AND #n1 = :v1)",
        {"#n0": "total", "#n1": "status"},
        {":v0": N, ":v1": {"S": "PAID"}},
    ),
    (
        (total > 5) | ~(total < 5),
        "(#n0 > :v0 OR (NOT #n0 < :v0))",
        {"#n0": "total"},
        {":v0": N},
    ),
    (dotted == "v", "#n0 = :v0", {"#n0": "a.b"}, {":v0": {"S": "v"}}),
    (bracketed == "v", "#n0 = :v0", {"#n0": "x[y"}, {":v0": {"S": "v"}}),
    (colon == "v", "#n0 = :v0", {"#n0": "c:d#e"}, {":v0": {"S": "v"}}),
    (
        meta["inner"]["deep"] == "v",
        "#n0.#n1.#n2 = :v0",
        {"#n0": "meta", "#n1": "inner", "#n2": "deep"},
        {":v0": {"S": "v"}},
    ),
    (
        Doc.dims.unit == "cm",
        "#n0.#n1 = :v0",
        {"#n0": "dims", "#n1": "u"},
        {":v0": {"S": "cm"}},
    ),
    (lines[3] == "v", "#n0[3] = :v0", {"#n0": "lines"}, {":v0": {"S": "v"}}),
    (
        Path(["a.b", "c"])[2] == 1,
        "#n0.#n1[2] = :v0",
        {"#n0": "a.b", "#n1": "c"},
        {":v0": {"N": "1"}},
    ),
]


@pytest.mark.parametrize(("condition", "expression", "names", "values"), CONDITIONS)
def test_condition_compiles(
    condition: Condition, expression: str, names: dict[str, str], values: dict[str, Any]
) -> None:
    builder = ExpressionBuilder()
    assert builder.condition(condition) == expression
    members = builder.members()
    assert members.get("ExpressionAttributeNames", {}) == names
    assert members.get("ExpressionAttributeValues", {}) == values


UPDATES = [
    ([status.set("SHIPPED")], "SET #n0 = :v0", {":v0": {"S": "SHIPPED"}}),
    ([total.set(total + 1)], "SET #n0 = #n0 + :v0", {":v0": {"N": "1"}}),
    ([total.set(total - 2)], "SET #n0 = #n0 - :v0", {":v0": {"N": "2"}}),
    ([total.set(total | 0)], "SET #n0 = if_not_exists (#n0, :v0)", {":v0": {"N": "0"}}),
    (
        [lines.set(lines.append(["x"]))],
        "SET #n0 = list_append (#n0, :v0)",
        {":v0": {"L": [{"S": "x"}]}},
    ),
    (
        [lines.set(lines.prepend(["x"]))],
        "SET #n0 = list_append (:v0, #n0)",
        {":v0": {"L": [{"S": "x"}]}},
    ),
    ([status.remove()], "REMOVE #n0", {}),
    ([total.add(3)], "ADD #n0 :v0", {":v0": {"N": "3"}}),
    ([tags.add({"a"})], "ADD #n0 :v0", {":v0": {"SS": ["a"]}}),
    ([tags.delete({"a"})], "DELETE #n0 :v0", {":v0": {"SS": ["a"]}}),
    (
        [tags.delete({"a"}), total.add(1), status.remove(), name.set("n")],
        "SET #n0 = :v0 REMOVE #n1 ADD #n2 :v1 DELETE #n3 :v2",
        {":v0": {"S": "n"}, ":v1": {"N": "1"}, ":v2": {"SS": ["a"]}},
    ),
]


@pytest.mark.parametrize(("actions", "expression", "values"), UPDATES)
def test_update_compiles(actions: list[Any], expression: str, values: dict[str, Any]) -> None:
    builder = ExpressionBuilder()
    assert builder.update(actions) == expression
    assert builder.members().get("ExpressionAttributeValues", {}) == values


def test_projection_dedupes_and_placeholders_everything() -> None:
    builder = ExpressionBuilder()
    text = builder.projection([name, status, name, meta["size"], "count"])
    assert text == "#n0, #n1, #n2.#n3, #n4"
    assert builder.members()["ExpressionAttributeNames"] == {
        "#n0": "name",
        "#n1": "status",
        "#n2": "meta",
        "#n3": "size",
        "#n4": "count",
    }


def test_a_fresh_builder_starts_numbering_again() -> None:
    first, second = ExpressionBuilder(), ExpressionBuilder()
    first.condition(total > 1)
    assert second.condition(status == "x") == "#n0 = :v0"


def test_non_conditions_are_refused() -> None:
    with pytest.raises(TypeError, match="expected a condition"):
        ExpressionBuilder().condition(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected an update action"):
        ExpressionBuilder().update([total > 1])  # type: ignore[list-item]


def test_conjoin_skips_none_and_conditions_refuse_bool() -> None:
    assert conjoin(None, None) is None
    combined = conjoin(None, total > 1, attribute_missing("PK"))
    assert ExpressionBuilder().condition(combined) == "(#n0 > :v0 AND attribute_not_exists (#n1))"  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bool(total > 1)


def test_path_of_never_splits_a_plain_name() -> None:
    assert ExpressionBuilder().path(path_of("a.b")) == "#n0"
    assert ExpressionBuilder().path(path_of(["a", "b"])) == "#n0.#n1"


# -- properties ------------------------------------------------------------------------------

names_st = st.text(min_size=1, max_size=12).filter(lambda s: not re.search(r"\[\d+\]$", s))
values_st = st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=8))


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> Condition:
    if depth < 3 and draw(st.booleans()):
        left, right = draw(conditions(depth + 1)), draw(conditions(depth + 1))
        return draw(st.sampled_from([left & right, left | right, ~left]))
    attribute = attr(UnicodeAttribute, draw(names_st))
    value = draw(st.text(max_size=8))
    maker = draw(st.sampled_from(["eq", "lt", "begins", "in", "exists"]))
    if maker == "eq":
        return attribute == value
    if maker == "lt":
        return attribute < value
    if maker == "begins":
        return attribute.startswith(value)
    if maker == "in":
        return attribute.is_in(value, value + "x")
    return attribute.exists()


@given(conditions())
def test_every_placeholder_is_defined_and_every_definition_used(condition: Condition) -> None:
    builder = ExpressionBuilder()
    text = builder.condition(condition)
    members = builder.members()
    names = members.get("ExpressionAttributeNames", {})
    values = members.get("ExpressionAttributeValues", {})
    used = set(re.findall(r"[#:][nv]\d+", text))
    assert used == set(names) | set(values)
    assert len(set(names.values())) == len(names)  # one placeholder per name
    assert len(values) == len({repr(v) for v in values.values()})  # equal values shared


@given(st.lists(st.text(alphabet="abc", min_size=1, max_size=3), min_size=1, max_size=15))
def test_render_replaces_whole_tokens(words: list[str]) -> None:
    builder = ExpressionBuilder()
    parts = [builder.value({"S": w + str(i)}) for i, w in enumerate(words)]
    text = " ".join(parts)
    rendered = render(text, builder.members())
    assert rendered == " ".join(repr(w + str(i)) for i, w in enumerate(words))


# -- reserved and awkward names of an entity (write_models.Thing), compiled and sent -------------


def test_conditions_placeholder_every_name_and_value() -> None:
    builder = ExpressionBuilder()
    text = builder.condition(
        (T.size > 1)
        & (T.count == 2)
        & (T.name == "n")
        & (T.status == "s")
        & (T.sub == "x")
        & (T.dotted == "d")
        & (T.bracketed == "b")
        & (T.meta["size"] == 3)
    )
    names = builder.members()["ExpressionAttributeNames"]
    assert set(names.values()) == {"size", "count", "name", "status", "sub", "a.b", "x[y", "meta"}
    for word in ("size", "count", "name", "status", "sub", "a.b", "x[y"):
        assert word not in text


def test_projections_with_reserved_and_awkward_names(
    table_factory: Callable[[Table], Table],
) -> None:
    table = table_factory(lab)
    thing = sample()
    thing.save()
    builder = ExpressionBuilder()
    projection = builder.projection(
        [T.name, T.status, T.size, T.count, T.dotted, T.bracketed, T.meta["size"], T.meta["count"]]
    )
    assert projection == "#n0, #n1, #n2, #n3, #n4, #n5, #n6.#n2, #n6.#n3"
    item = raw_item(table, thing.item_key, ProjectionExpression=projection, **builder.members())
    assert item == {
        "name": {"S": "Ada"},
        "status": {"S": "PAID"},
        "size": {"N": "3"},
        "count": {"N": "10"},
        "a.b": {"S": "d"},
        "x[y": {"S": "b"},
        "meta": {"M": {"size": {"N": "4"}, "count": {"L": [{"N": "7"}, {"N": "8"}]}}},
    }


def test_projection_of_a_list_element() -> None:
    # Compiled only: in a ProjectionExpression moto does not count "#n0[1]" as a use of "#n0"
    # and rejects the request (conditions and updates with list indexes run against it below).
    builder = ExpressionBuilder()
    assert builder.projection([T.lines[1], T.bracketed]) == "#n0[1], #n1"
    assert builder.members()["ExpressionAttributeNames"] == {"#n0": "lines", "#n1": "x[y"}
