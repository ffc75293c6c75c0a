"""Raw export and import: typed-JSON lines round-trip any item, on paper and through the server."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dynaorm import Table, ValidationError, export_items, import_items
from dynaorm.bulk.importing import _ranges
from dynaorm.bulk.item_lines import decode_line, encode_item
from dynaorm.bulk.storable import check_stored_item

Factory = Callable[[Table], Table]

bulk = Table("test-bulk", indexes=[])

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
# Names and map keys are not empty (moto cannot even answer for an item with an empty map key),
# nor "__proto__" (dynalite, written in JavaScript, loses a value of that name).
NAMES = TEXT.filter(lambda name: name not in ("", "__proto__"))


@st.composite
def numbers(draw: st.DrawFn) -> str:
    """Number text DynamoDB stores: up to 38 significant digits, within its range."""
    digits = draw(st.integers(min_value=1, max_value=38))
    mantissa = draw(st.integers(min_value=0, max_value=10**digits - 1))
    exponent = draw(st.integers(min_value=-120, max_value=80))
    sign = draw(st.sampled_from(["", "-"]))
    return str(Decimal(f"{sign}{mantissa}E{exponent}")) if mantissa else "0"


def _distinct_numbers(values: list[str]) -> list[str]:
    seen: dict[Decimal, str] = {}
    for value in values:
        seen.setdefault(Decimal(value), value)
    return list(seen.values())


SCALARS = st.one_of(
    TEXT.map(lambda s: {"S": s}),
    numbers().map(lambda n: {"N": n}),
    st.binary(max_size=16).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(TEXT, min_size=1, max_size=4, unique=True).map(lambda s: {"SS": s}),
    st.lists(numbers(), min_size=1, max_size=4).map(lambda n: {"NS": _distinct_numbers(n)}),
    st.lists(st.binary(max_size=8), min_size=1, max_size=4, unique=True).map(lambda b: {"BS": b}),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda v: {"L": v}),
        st.dictionaries(NAMES, inner, max_size=3).map(lambda v: {"M": v}),
    ),
    max_leaves=8,
)
ATTRIBUTES = st.dictionaries(NAMES.filter(lambda n: n not in ("PK", "SK")), VALUES, max_size=5)


@given(attributes=ATTRIBUTES, wrap=st.booleans())
def test_a_line_decodes_to_the_item_it_encodes(attributes: dict[str, Any], wrap: bool) -> None:
    item = {"PK": {"S": "P#1"}, "SK": {"S": "S"}, **attributes}
    assert decode_line(encode_item(item, wrap=wrap), 3) == item
    check_stored_item(bulk, item)  # what the generator makes, DynamoDB stores


@given(attributes=ATTRIBUTES)
def test_an_item_with_one_attribute_called_item_is_not_mistaken_for_a_wrapper(
    attributes: dict[str, Any],
) -> None:
    value = {"M": attributes}
    assert decode_line(encode_item({"Item": value}), 1) == {"Item": value}


@given(st.sets(st.integers(min_value=1, max_value=60)))
def test_ranges_name_exactly_the_lines(numbers: set[int]) -> None:
    text = _ranges(sorted(numbers))
    named: set[int] = set()
    for part in filter(None, text.split(", ")):
        low, _, high = part.partition("-")
        named |= set(range(int(low), int(high or low) + 1))
    assert named == numbers


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"PK": {"S": "A"}, "x": {"NULL": false}}', "a NULL value is true"),
        ('{"PK": {"S": "A"}, "x": {"SS": "abc"}}', "an SS value is a list"),
        ('{"PK": {"S": "A"}, "x": {"NS": [1]}}', "the members of an NS value are strings"),
        ('{"PK": {"S": "A"}, "x": {"M": []}}', "an M value is an object"),
        ('{"PK": {"S": "A"}, "x": {"L": [{"S": 1}]}}', "attribute 'x'[0]: a S value is a string"),
    ],
)
def test_malformed_typed_values_name_the_line_and_the_value(line: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=r"^line 9: ") as caught:
        decode_line(line, 9)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "line",
    ["[1, 2]", "not json", '{"a": {"S": "x", "N": "1"}}', '{"a": {"B": "***"}}', '{"a": {"B": 5}}'],
)
def test_decode_line_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(ValidationError, match=r"^line 7: "):
        decode_line(line, 7)


def test_encode_and_decode_round_trip_nested_binary() -> None:
    item = {
        "PK": {"S": "P#1"},
        "blob": {"B": b"\x00\xff"},
        "set": {"BS": [b"a", b"b"]},
        "deep": {"M": {"list": {"L": [{"B": b"\x01"}, {"N": "1.5"}, {"NULL": True}]}}},
    }
    assert decode_line(encode_item(item), 1) == item


def _raw_items(table: Table) -> list[dict[str, Any]]:
    client = table.transport.client
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table.name, "ConsistentRead": True}
    while True:
        response = client.scan(**request)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ATTRIBUTES, min_size=1, max_size=12))
def test_export_then_import_gives_back_arbitrary_items_exactly(
    table_factory: Factory, rows: list[dict[str, Any]]
) -> None:
    table = bulk if bulk.name != "test-bulk" else table_factory(bulk)  # one table for all
    client = table.transport.client
    for item in _raw_items(table):  # empty, whatever an earlier example left
        client.delete_item(TableName=table.name, Key={"PK": item["PK"], "SK": item["SK"]})
    for n, attributes in enumerate(rows):
        client.put_item(
            TableName=table.name, Item={"PK": {"S": f"P#{n}"}, "SK": {"S": "S"}, **attributes}
        )
    before = _raw_items(table)
    out = io.StringIO()
    assert export_items(table, out, segments=2) == len(rows)
    for item in before:
        client.delete_item(TableName=table.name, Key={"PK": item["PK"], "SK": item["SK"]})
    assert _raw_items(table) == []
    out.seek(0)
    assert import_items(table, out, workers=2) == len(rows)
    assert _raw_items(table) == before


def _raw_keys(table: Table) -> set[str]:
    keys: set[str] = set()
    request: dict[str, Any] = {"TableName": table.name, "ConsistentRead": True}
    while True:
        response = table.call("Scan", request, idempotent=True)
        keys |= {item["PK"]["S"] for item in response.get("Items", [])}
        if "LastEvaluatedKey" not in response:
            return keys
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_import_never_reports_lines_of_unknown_outcome_as_written(
    table_factory: Factory, fault_injector: Any, seed: int
) -> None:
    from dynaorm import ImportIncomplete, RetryPolicy

    table = table_factory(bulk)
    table.retry_policy = RetryPolicy(max_attempts=1, base_delay=0.001)
    lines = [f'{{"PK": {{"S": "P{i:02d}"}}, "SK": {{"S": "x"}}}}' for i in range(60)]
    # Every batch request times out after it was sent; a seeded coin decides whether the
    # server applied it.
    fault_injector(table, seed=seed, read_timeout=1.0, operations={"BatchWriteItem"})
    with pytest.raises(ImportIncomplete) as caught:
        import_items(table, lines)
    incomplete = caught.value
    stored = {int(key[1:]) + 1 for key in _raw_keys(table)}  # line numbers of stored items
    assert set(incomplete.written) <= stored  # every line said written is stored
    assert set(incomplete.written).isdisjoint(incomplete.unknown)
    assert stored <= set(incomplete.written) | set(incomplete.unknown)  # nothing else landed
    assert incomplete.unknown  # sent without an answer: never reported as written
    assert "outcome unknown (sent, no answer)" in str(incomplete)


def test_an_import_interrupted_by_its_progress_callback_says_what_landed(
    table_factory: Factory,
) -> None:
    table = table_factory(bulk)
    lines = [f'{{"PK": {{"S": "P{i:02d}"}}, "SK": {{"S": "x"}}}}' for i in range(60)]

    def progress(report: Any) -> None:
        raise KeyError("the progress bar broke")

    with pytest.raises(KeyError) as caught:
        import_items(table, lines, progress=progress)
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "import into" in notes
    assert "interrupted: written: lines 1-25 (25 items)" in notes
    assert _raw_keys(table) == {f"P{i:02d}" for i in range(25)}
