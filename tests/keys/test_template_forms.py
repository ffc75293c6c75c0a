"""Template forms beyond the delimiter: literal text between fields, no delimiter, casing,
datetime formats, and the soundness of the collision check over all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given, strategies as st

from dynaorm import ConfigurationError, ValidationError
from dynaorm.keys.codecs import DATETIME_FORMATS, DateTimeCodec, FieldCodec, NumberCodec, TextCodec
from dynaorm.keys.collisions import templates_may_collide
from dynaorm.keys.parts import Field, Literal, parse_source, split_text
from dynaorm.keys.ranges import FieldBound, SortKeyCondition, compile_range
from dynaorm.keys.templates import KeyTemplate
from dynaorm.tools.samples import placeholder

# Small alphabets that hold the literal text, so values often run into it.
_text = st.text(alphabet="2018-Qq4#xX", min_size=1, max_size=6)


def _built(template: KeyTemplate, values: dict[str, Any]) -> str:
    try:
        return template.build(values)
    except ValidationError:
        assume(False)
        raise


# -- literal text between fields ---------------------------------------------------------------


def test_the_aws_quarter_example() -> None:
    t = KeyTemplate("{year}-Q{quarter}", delimiter=None)
    assert t.build({"year": "2018", "quarter": "4"}) == "2018-Q4"
    assert t.parse("2018-Q4") == {"year": "2018", "quarter": "4"}
    assert t.build_prefix({"year": "2018"}) == "2018-Q"
    with pytest.raises(ValidationError, match=r"contains \(or runs into\) the text '-Q'"):
        t.build({"year": "20-Q18", "quarter": "4"})
    # The value may hold '-' or 'Q' alone, and the last value anything.
    assert t.parse(t.build({"year": "a-b", "quarter": "-Q"})) == {"year": "a-b", "quarter": "-Q"}


def test_a_value_may_not_run_into_the_text_after_its_field() -> None:
    t = KeyTemplate("{a}aa{b}", delimiter=None)
    # "xa" + "aa" shows "aa" one character early: the key would read back as ("x", "ab").
    with pytest.raises(ValidationError, match="runs into"):
        t.build({"a": "xa", "b": "b"})
    assert t.parse(t.build({"a": "ax", "b": "b"})) == {"a": "ax", "b": "b"}


@given(year=_text, quarter=_text)
def test_literal_between_fields_round_trips(year: str, quarter: str) -> None:
    for t in (
        KeyTemplate("{year}-Q{quarter}", delimiter=None),
        KeyTemplate("{year}-Q{quarter}"),
        KeyTemplate("Y{year}-Q{quarter}#end", delimiter="-"),
    ):
        try:
            key = t.build({"year": year, "quarter": quarter})
        except ValidationError:
            continue
        assert t.parse(key) == {"year": year, "quarter": quarter}
        assert t.matches(key)


@given(st.data())
def test_any_template_of_the_grammar_round_trips(data: st.DataObject) -> None:
    template = data.draw(_templates())
    values = {name: data.draw(_field_value(template.codecs[name])) for name in template.fields}
    key = _built(template, values)
    assert template.parse(key) == _normalised(template, values)


def test_date_hash_id_example() -> None:
    t = KeyTemplate("{date}#{id}", delimiter=None)
    assert t.build({"date": "2019-01-18", "id": "a-1"}) == "2019-01-18#a-1"
    assert t.parse("2019-01-18#a-1") == {"date": "2019-01-18", "id": "a-1"}


@pytest.mark.parametrize(
    ("source", "error"),
    [("{a}{b}", "separated by literal text"), ("{a}-{b}", "single character")],
)
def test_adjacent_fields_and_long_delimiters_are_refused(source: str, error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        KeyTemplate(source, delimiter="--" if "-" in source else "#")


def test_ranges_and_samples_use_the_public_parts() -> None:
    parts = parse_source("A-{x}#{y:04d}")
    assert parts == (Literal("A-"), Field("x", ""), Literal("#"), Field("y", "04d"))
    assert split_text(parts, None, "A-x#0001") == {"x": "x", "y": "0001"}
    assert placeholder("{year}-Q{quarter:02d}") == "<year>-Q<quarter>"


# -- casing ------------------------------------------------------------------------------------

_cased = st.text(alphabet="abcXYZ-#é", min_size=1, max_size=6)


@given(status=_cased, n=st.integers(min_value=0, max_value=999))
def test_lower_casing_normalises_literals_and_text_values(status: str, n: int) -> None:
    t = KeyTemplate("STATUS#{status}#{n:03d}", casing="lower")
    key = _built(t, {"status": status, "n": n})
    assert key == t.build({"status": status.lower(), "n": n})
    assert key.startswith("status#")
    assert t.parse(key) == {"status": status.lower(), "n": n}
    if status == status.lower():
        assert t.parse(key) == {"status": status, "n": n}


@given(status=_cased, sku=_cased)
def test_per_field_casing_touches_only_the_fields_it_names(status: str, sku: str) -> None:
    t = KeyTemplate("Item#{status}#{sku}", casing={"status": "upper"})
    key = _built(t, {"status": status, "sku": sku})
    assert key == f"Item#{status.upper()}#{sku}"
    assert t.parse(key) == {"status": status.upper(), "sku": sku}


def test_parse_refuses_text_in_the_wrong_case() -> None:
    t = KeyTemplate("S#{status}", casing="lower")
    with pytest.raises(ValidationError, match="never builds"):
        t.parse("s#NEW")
    with pytest.raises(ValidationError, match="does not match"):
        t.parse("S#new")


def test_casing_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="casing must be"):
        KeyTemplate("S#{status}", casing="title")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not fields of the template"):
        KeyTemplate("S#{status}", casing={"state": "lower"})


# -- datetime formats --------------------------------------------------------------------------

_moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2286, 1, 1), timezones=st.just(UTC)
)


def _representable(fmt: str, at: datetime) -> datetime:
    if fmt == "date":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    if fmt:
        return at.replace(microsecond=0)
    return at


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("", "2018-01-08T10:00:00.000000+0000"),
        ("date", "2018-01-08"),
        ("seconds", "2018-01-08T10:00:00"),
        ("secondsZ", "2018-01-08T10:00:00Z"),
        ("epoch", "1515405600"),
    ],
)
def test_each_format_writes_the_published_text(fmt: str, text: str) -> None:
    at = datetime(2018, 1, 8, 10, tzinfo=UTC) if fmt != "date" else datetime(2018, 1, 8)
    assert DateTimeCodec(fmt).to_text(at) == text
    assert DateTimeCodec(fmt).from_text(text) == at.replace(tzinfo=UTC)


@pytest.mark.parametrize("fmt", sorted(DATETIME_FORMATS))
@given(at=_moments)
def test_every_datetime_format_round_trips(fmt: str, at: datetime) -> None:
    at = _representable(fmt, at)
    t = KeyTemplate("AT#{at}#X", resolver(at=DateTimeCodec(fmt)))
    assert t.parse(t.build({"at": at})) == {"at": at}
    # Another time zone, the same instant, the same key.
    assert t.build({"at": at.astimezone(timezone(timedelta(hours=5)))}) == t.build({"at": at})


@pytest.mark.parametrize("fmt", sorted(DATETIME_FORMATS))
@given(moments=st.lists(_moments, min_size=2, max_size=6))
def test_every_datetime_format_sorts_as_time(fmt: str, moments: list[datetime]) -> None:
    codec = DateTimeCodec(fmt)
    values = [_representable(fmt, at) for at in moments]
    assert sorted(values, key=codec.to_text) == sorted(values)


@pytest.mark.parametrize(
    ("fmt", "value", "error"),
    [
        ("date", datetime(2019, 1, 18, 0, 0, 1, tzinfo=UTC), "no time of day"),
        ("date", datetime(2019, 1, 18, tzinfo=timezone(timedelta(hours=1))), "no time of day"),
        ("seconds", datetime(2018, 1, 8, 10, 0, 0, 5, tzinfo=UTC), "whole seconds"),
        ("secondsZ", datetime(2018, 1, 8, 10, 0, 0, 5, tzinfo=UTC), "whole seconds"),
        ("epoch", datetime(1969, 12, 31, tzinfo=UTC), "1970 to 2286"),
        ("epoch", datetime(2018, 1, 8, 0, 0, 0, 1, tzinfo=UTC), "whole seconds"),
    ],
)
def test_values_a_format_cannot_hold_exactly_are_refused(
    fmt: str, value: datetime, error: str
) -> None:
    t = KeyTemplate("AT#{at}", resolver(at=DateTimeCodec(fmt)))
    with pytest.raises(ValidationError, match=error):
        t.build({"at": value})


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("date", "2019-1-18"), ("epoch", "123"), ("epoch", "\uff11" * 10), ("seconds", "x")],
)
def test_parse_refuses_other_spellings_of_a_datetime(fmt: str, text: str) -> None:
    t = KeyTemplate("AT#{at}", resolver(at=DateTimeCodec(fmt)))
    with pytest.raises(ValidationError):
        t.parse("AT#" + text)


def test_unknown_datetime_format() -> None:
    with pytest.raises(ValueError, match="datetime fields take the formats"):
        DateTimeCodec("iso")


# -- the collision check is sound --------------------------------------------------------------


def resolver(**codecs: FieldCodec) -> Any:
    def resolve(name: str, spec: str) -> FieldCodec:
        return codecs[name]

    return resolve


_CODECS: dict[str, FieldCodec] = {
    "t": TextCodec(),
    "n": NumberCodec("02d"),
    "d": DateTimeCodec("date"),
    "e": DateTimeCodec("epoch"),
}
# Literal text from the characters the values use, so collisions are common.
_literal = st.text(alphabet="A1-#|", min_size=1, max_size=3)


@st.composite
def _templates(draw: st.DrawFn) -> KeyTemplate:
    pieces: list[str] = []
    codecs: dict[str, FieldCodec] = {}
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        if i or draw(st.booleans()):
            pieces.append(draw(_literal))
        kind = draw(st.sampled_from(sorted(_CODECS)))
        codecs[f"{kind}{i}"] = _CODECS[kind]
        pieces.append(f"{{{kind}{i}}}")
    if draw(st.booleans()) or not pieces:
        pieces.append(draw(_literal))
    delimiter = draw(st.sampled_from([None, "#", "-", "|"]))
    casing = draw(st.sampled_from(["none", "lower", "upper"]))
    try:
        return KeyTemplate("".join(pieces), resolver(**codecs), delimiter, casing=casing)
    except ConfigurationError:
        assume(False)
        raise


def _field_value(codec: FieldCodec) -> st.SearchStrategy[Any]:
    if isinstance(codec, TextCodec):
        return st.text(alphabet="aA1-#|", min_size=1, max_size=4)
    if isinstance(codec, NumberCodec):
        return st.integers(min_value=0, max_value=99)
    if isinstance(codec, DateTimeCodec) and codec.format == "date":
        return st.sampled_from([datetime(2001, 1, 1, tzinfo=UTC), datetime(1999, 12, 31)])
    return st.sampled_from([datetime(2001, 1, 1, tzinfo=UTC), datetime(2286, 1, 1)])


def _normalised(template: KeyTemplate, values: dict[str, Any]) -> dict[str, Any]:
    casing = template.casing
    out = {}
    for name, value in values.items():
        if isinstance(value, str) and isinstance(casing, str) and casing != "none":
            value = value.lower() if casing == "lower" else value.upper()
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        out[name] = value
    return out


@given(data=st.data(), a=_templates(), b=_templates())
def test_no_collision_means_no_two_keys_are_equal(
    data: st.DataObject, a: KeyTemplate, b: KeyTemplate
) -> None:
    values_a = {name: data.draw(_field_value(a.codecs[name])) for name in a.fields}
    values_b = {name: data.draw(_field_value(b.codecs[name])) for name in b.fields}
    try:
        key_a, key_b = a.build(values_a), b.build(values_b)
    except ValidationError:
        assume(False)
        raise
    if key_a == key_b:
        assert templates_may_collide(a, b)
        assert templates_may_collide(b, a)


@pytest.mark.parametrize(
    ("a", "b", "collide"),
    [
        # A bare text field holds no '#', so it never builds a key with one.
        (KeyTemplate("ORDER#{id}"), KeyTemplate("{carrier}"), False),
        (KeyTemplate("PROFILE"), KeyTemplate("{carrier}"), True),
        (KeyTemplate("PROFILE"), KeyTemplate("{carrier}", delimiter=None), True),
        # Numbers and datetimes hold only digits and punctuation.
        (KeyTemplate("PROFILE"), KeyTemplate("{n:04d}"), False),
        (KeyTemplate("2024-{x}"), KeyTemplate("{at}", resolver(at=DateTimeCodec("date"))), True),
        (KeyTemplate("Q{x}"), KeyTemplate("{at}", resolver(at=DateTimeCodec("date"))), False),
        # Casing changes the literal text.
        (KeyTemplate("ORDER#{id}", casing="lower"), KeyTemplate("ORDER#{id}"), False),
        (KeyTemplate("{y}-Q{q}", delimiter=None), KeyTemplate("{y}-{q}", delimiter="-"), True),
        (KeyTemplate("{y}-Q{q}", delimiter="-"), KeyTemplate("{y}-{q}", delimiter="-"), True),
        (KeyTemplate("{y}-Q{q}", delimiter="-"), KeyTemplate("{y}-{q}-{r}", delimiter="-"), False),
    ],
)
def test_collision_examples(a: KeyTemplate, b: KeyTemplate, collide: bool) -> None:
    assert templates_may_collide(a, b) is collide
    assert templates_may_collide(b, a) is collide


# -- ranges over the new forms -----------------------------------------------------------------


def test_ranges_on_a_field_followed_by_literal_text() -> None:
    quarters = KeyTemplate("{year}-Q{quarter}", delimiter=None)
    starts = compile_range(quarters, {}, FieldBound("year", "begins_with", ("201",)))
    assert starts.condition == SortKeyCondition("begins_with", ("201",))
    # "20" + "-Q4" starts with "20-": the operand may not end with the start of "-Q".
    with pytest.raises(ValidationError, match="shorter values"):
        compile_range(quarters, {}, FieldBound("year", "begins_with", ("20-",)))
    # Values may hold "-", so text order is not value order: no ordering range.
    with pytest.raises(ValidationError, match="needs the field to be followed by"):
        compile_range(quarters, {}, FieldBound("year", ">=", ("2018",)))
    dashed = KeyTemplate("{year}-Q{quarter}", delimiter="-")
    between = compile_range(dashed, {}, FieldBound("year", "BETWEEN", ("2017", "2018")))
    assert between.condition == SortKeyCondition("BETWEEN", ("2017-", "2018."))


@given(
    years=st.lists(st.text(alphabet="aAbB0-Q", min_size=1, max_size=4), min_size=1, max_size=6),
    low=st.text(alphabet="aAb0", min_size=1, max_size=4),
    high=st.text(alphabet="aAb0", min_size=1, max_size=4),
)
def test_a_cased_range_selects_what_the_values_say(years: list[str], low: str, high: str) -> None:
    template = KeyTemplate("y{year}|Q{q}", delimiter="|", casing="lower")
    assume(low.lower() + "|" <= high.lower() + "|")
    keyrange = compile_range(template, {}, FieldBound("year", "BETWEEN", (low, high)))
    assert keyrange.condition is not None
    for year in years:
        key = _built(template, {"year": year, "q": "X"})
        inside = low.lower() + "|" <= year.lower() + "|" <= high.lower() + "|"
        assert keyrange.condition.matches(key) is inside
