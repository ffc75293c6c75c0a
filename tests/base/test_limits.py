"""DynamoDB's item and number limits, enforced before any request is sent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from write_models import Note, T, Thing, lab, sample

from dynaorm import Table, ValidationError
from dynaorm.base.limits import ITEM_SIZE_LIMIT, check_number, check_value
from dynaorm.base.sizes import item_size

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]

# -- numbers ---------------------------------------------------------------------------------

GOOD_NUMBERS = [
    0,
    -0.0,
    1,
    -1,
    0.1,
    Decimal("1E-130"),
    Decimal("-1E-130"),
    Decimal("9.9999999999999999999999999999999999999E+125"),
    10**125,
    10**40,  # one significant digit
    int("9" * 38),
    Decimal("1." + "1" * 37),
    "12.5",
]
BAD_NUMBERS = [
    (float("nan"), "cannot be NaN or infinity"),
    (float("inf"), "cannot be NaN or infinity"),
    (float("-inf"), "cannot be NaN or infinity"),
    ("NaN", "cannot be NaN or infinity"),
    (Decimal("1E+126"), "outside DynamoDB's number range"),
    (Decimal("1E-131"), "outside DynamoDB's number range"),
    (1e200, "outside DynamoDB's number range"),
    (int("9" * 39), "has 39 significant digits; DynamoDB keeps at most 38"),
    (10**40 + 1, "has 41 significant digits"),
    (Decimal("1." + "1" * 38), "39 significant digits"),
    ("abc", "is not a number"),
]


@pytest.mark.parametrize("number", GOOD_NUMBERS, ids=repr)
def test_numbers_dynamodb_can_store(number: Any) -> None:
    check_number(number, what="Thing.count")


@pytest.mark.parametrize(("number", "message"), BAD_NUMBERS, ids=lambda v: repr(v)[:20])
def test_numbers_dynamodb_cannot_store(number: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=rf"^Thing\.count: .*{message}"):
        check_number(number, what="Thing.count")


def test_the_number_check_names_no_types_it_sees_wire_text() -> None:
    # The attributes' own messages say which types they hold (tests/base/test_exact_numbers.py).
    with pytest.raises(ValidationError) as caught:
        check_number("abc", what="X.n")
    assert str(caught.value) == "X.n: 'abc' is not a number"


def test_values_are_checked_inside_sets_lists_and_maps() -> None:
    check_value({"M": {"a": {"L": [{"N": "1"}, {"NS": ["2", "3"]}]}}}, what="Thing.meta")
    with pytest.raises(ValidationError, match=r"Thing\.meta\.a\[1\]: 'Infinity'"):
        check_value({"M": {"a": {"L": [{"N": "1"}, {"N": "Infinity"}]}}}, what="Thing.meta")
    with pytest.raises(ValidationError, match=r"Thing\.scores: 'NaN'"):
        check_value({"NS": ["1", "NaN"]}, what="Thing.scores")
    with pytest.raises(ValidationError, match=r"Thing\.name: 5 is a int, but the attribute"):
        check_value({"S": 5}, what="Thing.name")


def test_bad_numbers_in_items_are_refused_before_sending(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(lab)
    sent = sent_requests(table)
    with pytest.raises(ValidationError, match=r"^Thing\.count: 'NaN' cannot be stored"):
        Thing(thing_id="t1", count=float("nan")).save()
    with pytest.raises(ValidationError, match=r"^Thing\.size: 'Infinity' cannot be stored"):
        Thing(thing_id="t1", size=float("inf")).to_item()
    with pytest.raises(ValidationError, match=r"^Thing\.meta\.deep\[0\]: 'Infinity'"):
        Thing(thing_id="t1", meta={"deep": [float("inf")]}).save()
    with pytest.raises(ValidationError, match=r"^Thing\.scores: .*41 significant digits"):
        Thing(thing_id="t1", scores={1, 10**40 + 1}).save()
    with pytest.raises(ValidationError, match=r"^Thing\.dotted: 5 is a int"):
        Thing(thing_id="t1", dotted=5).save()  # type: ignore[arg-type]
    assert sent == []


def test_bad_numbers_in_updates_and_conditions_are_refused_before_sending(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(lab)
    sample().save()
    thing = Thing.get(thing_id="t1", consistent=True)
    assert thing is not None
    sent = sent_requests(table)
    key = Thing.key(thing_id="t1")
    with pytest.raises(ValidationError, match=r"^Thing\.count \(update value\): 'NaN'"):
        Thing.update_by_key(key, T.count.set(float("nan")))
    with pytest.raises(ValidationError, match=r"^Thing\.count \(update value\): .*41 significant"):
        thing.update(T.count.add(10**40 + 1))
    with pytest.raises(ValidationError, match=r"^Thing\.size \(update value\): 'Infinity'"):
        thing.update(T.size.set(T.size + float("inf")))
    with pytest.raises(ValidationError, match=r"^Thing\.meta \(update value\): 'NaN'"):
        thing.update(T.meta["x"].set(float("nan")))
    with pytest.raises(ValidationError, match=r"^Thing \(condition value\): 'Infinity'"):
        thing.update(T.count.add(1), condition=T.count < float("inf"))
    assert sent == []
    assert thing == sample()


# -- item size -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"a": {"S": "abc"}}, 4),
        ({"name": {"S": "héllo"}}, 4 + 6),
        ({"n": {"N": "12345"}}, 1 + 4),
        ({"n": {"N": "0"}}, 1 + 2),
        ({"n": {"N": "1000000"}}, 1 + 2),  # trailing zeros are not significant
        ({"b": {"BOOL": True}, "z": {"NULL": True}}, 2 + 2),
        ({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"s": {"SS": ["a", "bc"]}}, 1 + 3),
        ({"b": {"B": b"\x00\x01"}}, 1 + 2),
    ],
)
def test_item_size_follows_dynamodb_rules(item: dict[str, Any], size: int) -> None:
    assert item_size(item) == size


def test_items_over_400_kb_are_refused_before_sending(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(lab)
    base = item_size(Thing(thing_id="big", name="").to_item())
    exactly = Thing(thing_id="big", name="x" * (ITEM_SIZE_LIMIT - base))
    assert item_size(exactly.to_item()) == ITEM_SIZE_LIMIT  # the limit itself is allowed
    # moto refuses items past 405,000 bytes by its own count, below DynamoDB's limit.
    Thing(thing_id="big", name="x" * 400_000).save()
    sent = sent_requests(table)
    over = Thing(thing_id="big", name="x" * (ITEM_SIZE_LIMIT - base + 1))
    with pytest.raises(
        ValidationError,
        match=r"^Thing \{'PK': 'THING#big', 'SK': 'THING'\} is 409,601 bytes; DynamoDB items "
        r"are limited to 409,600 bytes .*Largest attributes: name \(409,5\d\d bytes\).*S3",
    ):
        over.save()
    assert sent == []


def test_updates_setting_over_400_kb_are_refused_before_sending(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(lab)
    Note(note_id="n1").save()
    sent = sent_requests(table)
    half = "x" * (ITEM_SIZE_LIMIT // 2)
    with pytest.raises(ValidationError, match=r"^Note: the update sets 409,6\d\d bytes"):
        Note.update_by_key(Note.key(note_id="n1"), Note.text.set(half + half))
    with pytest.raises(ValidationError, match="the update sets"):
        Thing.update_by_key(
            Thing.key(thing_id="t"), T.name.set(half), T.lines.set(T.lines.append([half]))
        )
    assert sent == []
    # What an update does to the stored item's size is known only on the server: DynamoDB
    # rejects an item grown past 400 KB (moto does not), so below the limit it is sent.
    Note.update_by_key(Note.key(note_id="n1"), Note.text.set(half))
    assert sent == ["UpdateItem"]
