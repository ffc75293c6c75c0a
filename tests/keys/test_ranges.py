"""Sort-key ranges (dynaorm/keys/ranges.py): the bounds a range compiles to select exactly the
keys a model of sorted keys says, and examples of what is refused. Pure: no server."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, strategies as st

from dynaorm import ValidationError
from dynaorm.keys.ranges import FieldBound, KeyRange, SortKeyCondition, compile_range, successor
from dynaorm.keys.templates import KeyTemplate, NumberCodec, TextCodec

# -- range bounds against a model of sorted keys ---------------------------------------------

# Characters below and above the delimiter '#', the successor of the prefix's last character,
# and the largest code point.
ALPHABET = [" ", "!", '"', "$", "0", "9", "a", "b", "é", "\uffff", "\U0010ffff"]
TEMPLATES = [
    "ORDER#{a}",
    "ORDER#{a}#{b}",
    "{a}#{b}#{c}",
    "X#{a}#END",
    "X#{a}#",
    "P{a}#{b}",
    "{a}",
    "A#{a}#x#{b}",
]
values_st = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=3)
OPERATORS = ["<", "<=", ">", ">=", "BETWEEN", "begins_with", "="]


def following(template: KeyTemplate, field: str) -> str:
    source = template.source
    rest = source[source.index("{" + field + "}") + len(field) + 2 :]
    return rest.split("{")[0]


def physical(op: str, w: str, operands: tuple[str, ...], tail: str) -> bool:
    """The documented semantics: compare field text followed by the first following
    character (delimiter or nothing)."""
    a = w + tail
    if op == "begins_with":
        return w.startswith(operands[0])
    r = operands[0] + tail
    if op == "BETWEEN":
        return r <= a <= operands[1] + tail
    return {
        "<": a < r,
        "<=": a <= r,
        ">": a > r,
        ">=": a >= r,
        "=": w == operands[0],
    }[op]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[KeyTemplate, dict[str, str], FieldBound | None, list]:
    template = KeyTemplate(draw(st.sampled_from(TEMPLATES)))
    fields = template.fields
    rows = draw(
        st.lists(st.fixed_dictionaries(dict.fromkeys(fields, values_st)), min_size=1, max_size=25)
    )
    fixed = draw(st.integers(0, len(fields) - 1))
    source_row = draw(st.sampled_from(rows))
    equal = {f: source_row[f] if draw(st.booleans()) else draw(values_st) for f in fields[:fixed]}
    op = draw(st.sampled_from(OPERATORS))
    operands = tuple(draw(values_st) for _ in range(2 if op == "BETWEEN" else 1))
    if op == "BETWEEN":
        operands = tuple(sorted(operands))
    bound = FieldBound(fields[fixed], op, operands) if op != "=" else None
    if op == "=":
        equal[fields[fixed]] = operands[0]
    return template, equal, bound, rows


@given(scenarios(), st.lists(st.text(st.sampled_from([*ALPHABET, "#", "O", "X"]), max_size=8)))
def test_range_bounds_select_exactly_the_model(
    scenario: tuple[KeyTemplate, dict[str, str], FieldBound | None, list], foreign: list[str]
) -> None:
    template, equal, bound, rows = scenario
    if bound is not None and bound.operator == "BETWEEN":
        low, high = bound.values
        tail = following(template, bound.field)[:1]
        assume(low + tail <= high + tail)  # else: refused, see test_range_examples
    compiled = compile_range(template, equal, bound)
    own = {template.build(row): row for row in rows}
    for key in foreign:  # other entity types' keys share the partition; the type filter drops them
        own.pop(key, None)
    keys = sorted({*own, *foreign})

    def expected(row: dict[str, str]) -> bool:
        if any(row[f] != v for f, v in equal.items()):
            return False
        if bound is None:
            return True
        tail = following(template, bound.field)[:1]
        return physical(bound.operator, row[bound.field], bound.values, tail)

    def selected(key: str) -> bool:
        if compiled.condition is not None and not compiled.condition.matches(key):
            return False
        if compiled.exclude is not None:
            field, value = compiled.exclude
            return own[key][field] != value
        return True

    got = [k for k in keys if k in own and selected(k)]
    assert got == [k for k in keys if k in own and expected(own[k])]
    # The selection is one contiguous run of the table's own keys: the order a query returns.
    positions = [i for i, k in enumerate(k for k in keys if k in own) if selected(k)]
    assert positions == list(range(positions[0], positions[-1] + 1)) if positions else True


@given(
    st.sampled_from(["ORDER#{a}", "ORDER#{a}#{b}", "{a}#{b}"]),
    st.lists(st.text(st.sampled_from(["$", "0", "5", "a", "z", "é"]), min_size=1, max_size=3)),
    st.text(st.sampled_from(["$", "0", "5", "a", "z", "é"]), min_size=1, max_size=3),
    st.sampled_from(["<", "<=", ">", ">="]),
)
def test_without_characters_below_the_delimiter_key_order_is_value_order(
    source: str, values: list[str], operand: str, op: str
) -> None:
    template = KeyTemplate(source)
    compiled = compile_range(template, {}, FieldBound("a", op, (operand,)))
    rows = {template.build({"a": v, "b": "x"}): v for v in values}
    assert compiled.condition is not None
    selected = {
        v
        for k, v in rows.items()
        if compiled.condition.matches(k) and (compiled.exclude is None or v != operand)
    }
    compare = {"<": str.__lt__, "<=": str.__le__, ">": str.__gt__, ">=": str.__ge__}[op]
    assert selected == {v for v in values if compare(v, operand)}


def test_range_examples() -> None:
    template = KeyTemplate("ORDER#{day}#{id}")
    assert compile_range(template, {}, None) == KeyRange(
        SortKeyCondition("begins_with", ("ORDER#",))
    )
    assert compile_range(template, {"day": "d", "id": "i"}) == KeyRange(
        SortKeyCondition("=", ("ORDER#d#i",))
    )
    with pytest.raises(ValidationError, match="already fully fixed"):
        compile_range(template, {"day": "d", "id": "i"}, FieldBound("id", ">", ("x",)))
    with pytest.raises(ValidationError, match="must fix leading fields"):
        compile_range(template, {"id": "i"})
    odd = KeyTemplate("A#{a}x#{b}")
    with pytest.raises(ValidationError, match="followed by the delimiter"):
        compile_range(odd, {}, FieldBound("a", ">", ("v",)))
    numbers = KeyTemplate("N#{n:08d}", lambda name, spec: NumberCodec(spec))
    assert compile_range(numbers, {}, FieldBound("n", "<=", (42,))).condition == SortKeyCondition(
        "BETWEEN", ("N#", "N#00000042")
    )
    text = KeyTemplate("T#{t}", lambda name, spec: TextCodec())
    with pytest.raises(ValidationError, match="must not be empty"):
        compile_range(text, {}, FieldBound("t", "begins_with", ("",)))


def test_successor() -> None:
    assert successor("ORDER#") == "ORDER$"
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff") is None
    assert successor("a\ud7ff") == "a\ue000"  # surrogates are skipped
