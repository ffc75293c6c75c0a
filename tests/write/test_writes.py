"""Conditional writes against the server: every condition operator, reserved and awkward
attribute names, timestamps and failed conditions carrying the stored item. (How conditions and
projections compile those names: tests/expressions/test_expressions.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pynamodb.expressions.condition import Condition
from write_models import Note, T, Thing, lab, raw_item, sample

from dynaorm import ConditionFailed, Table, size

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]

# (condition, true for sample()?) -- every operator, over reserved and awkward names.
CONDITIONS: list[tuple[str, Condition, bool]] = [
    ("eq", T.count == 10, True),
    ("eq-false", T.count == 11, False),
    ("ne", T.status != "NEW", True),
    ("ne-false", T.status != "PAID", False),
    ("lt", T.size < 4, True),
    ("lt-false", T.size < 3, False),
    ("le", T.size <= 3, True),
    ("le-false", T.size <= 2, False),
    ("gt", T.count > 9, True),
    ("gt-false", T.count > 10, False),
    ("ge", T.count >= 10, True),
    ("ge-false", T.count >= 11, False),
    ("between", T.size.between(1, 5), True),
    ("between-false", T.size.between(4, 5), False),
    ("is_in", T.status.is_in("NEW", "PAID"), True),
    ("is_in-false", T.status.is_in("NEW", "SHIPPED"), False),
    ("begins_with", T.name.startswith("Ad"), True),
    ("begins_with-false", T.name.startswith("Bo"), False),
    ("contains-set", T.tags.contains("x"), True),
    ("contains-set-false", T.tags.contains("z"), False),
    ("contains-numbers", T.scores.contains(2), True),
    ("contains-list", T.lines.contains("l1"), True),
    ("contains-string", T.name.contains("d"), True),
    ("exists", T.sub.exists(), True),
    ("exists-false", T.note.exists(), False),
    ("does_not_exist", T.note.does_not_exist(), True),
    ("does_not_exist-false", T.name.does_not_exist(), False),
    ("is_type", T.name.is_type(), True),
    ("is_type-path", T.lines.is_type(), True),
    ("size-list", size(T.lines) == 3, True),
    ("size-string", size(T.name) >= 3, True),
    ("size-set", size(T.tags) > 2, False),
    ("size-string-reserved", size(T.sub) == 1, True),
    ("size-nested", size(T.meta["count"]) == 2, True),
    ("nested-map", T.meta["inner"]["deep"] == "v", True),
    ("nested-reserved-key", T.meta["size"] == 4, True),
    ("nested-list-in-map", T.meta["count"][1] == 8, True),
    ("list-index", T.lines[1] == "l1", True),
    ("list-index-false", T.lines[2] == "l1", False),
    ("typed-map", T.dims.unit == "cm", True),
    ("typed-map-number", T.dims.width > 4, True),
    ("dotted", T.dotted == "d", True),
    ("bracketed", T.bracketed == "b", True),
    ("sub", T.sub == "s", True),
    ("and", (T.count > 5) & (T.status == "PAID"), True),
    ("and-false", (T.count > 5) & (T.status == "NEW"), False),
    ("or", (T.count > 50) | (T.name == "Ada"), True),
    ("or-false", (T.count > 50) | (T.name == "Bob"), False),
    ("not", ~(T.count < 5), True),
    ("not-false", ~(T.count > 5), False),
    ("nested-logic", ~((T.size > 5) | T.note.exists()) & T.dotted.exists(), True),
]


@pytest.mark.parametrize(
    ("condition", "holds"), [(c, h) for _, c, h in CONDITIONS], ids=[i for i, _, _ in CONDITIONS]
)
def test_every_condition_operator_against_the_server(
    table_factory: Factory, condition: Condition, holds: bool
) -> None:
    table_factory(lab)
    sample().save()
    changed = sample()
    changed.sub = "changed"
    if holds:
        changed.save(condition=condition)
        stored = Thing.get(thing_id="t1", consistent=True)
        assert stored is not None
        assert stored.sub == "changed"
    else:
        with pytest.raises(ConditionFailed):
            changed.save(condition=condition)
        stored = Thing.get(thing_id="t1", consistent=True)
        assert stored is not None
        assert stored.sub == "s"


def test_delete_with_conditions(table_factory: Factory) -> None:
    table_factory(lab)
    thing = sample()
    thing.save()
    with pytest.raises(ConditionFailed):
        thing.delete(condition=T.meta["size"] > 4)
    thing.delete(condition=(T.meta["size"] == 4) & T.dotted.exists() & (T.bracketed == "b"))
    assert Thing.get(thing_id="t1", consistent=True) is None


def test_a_failed_condition_carries_the_stored_item(table_factory: Factory) -> None:
    table_factory(lab)
    sample().save()
    other = Thing(thing_id="t1", name="Bob")
    with pytest.raises(ConditionFailed, match=r"Thing .*THING#t1.*condition was false") as caught:
        other.save(condition=T.status == "NEW")
    assert type(caught.value) is ConditionFailed
    assert caught.value.item == sample()
    assert caught.value.operation == "PutItem"


# -- timestamps ------------------------------------------------------------------------------


def test_save_sets_created_once_and_updated_every_time(table_factory: Factory) -> None:
    table = table_factory(lab)
    before = datetime.now(UTC)
    note = Note(note_id="n1", text="first")
    assert (note.created, note.updated) == (None, None)
    note.save()
    assert note.created is not None
    assert note.updated == note.created
    assert note.created >= before
    created = note.created
    stored = raw_item(table, note.item_key)
    assert stored["updated_at"] == {"S": Note.updated.serialize(note.updated)}
    assert stored["GSI1SK"] == {"S": Note.updated.serialize(note.updated)}

    note.text = "second"
    note.save()
    assert note.created == created
    assert note.updated > created
    again = Note.get(note_id="n1", consistent=True)
    assert again is not None
    assert (again.created, again.updated) == (created, note.updated)
    assert raw_item(table, note.item_key)["GSI1SK"]["S"] == Note.updated.serialize(note.updated)


def test_a_failed_save_leaves_timestamps_unchanged(table_factory: Factory) -> None:
    table_factory(lab)
    note = Note(note_id="n1")
    with pytest.raises(ConditionFailed):
        note.save(condition=Note.text.exists())
    assert (note.created, note.updated) == (None, None)
