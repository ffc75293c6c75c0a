"""The shortcuts an update compiles its own bookkeeping with (NameAction, NameCondition,
ExpressionBuilder.conditions) give exactly what the PynamoDB objects they stand for give."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from dynaorm import ValidationError
from dynaorm.expressions.compile import ExpressionBuilder, NameAction, NameCondition, conjoin


def attr(cls: type, name: str) -> Any:
    a = cls()
    a.attr_name = name
    a.attr_path = [name]
    return a


STATUS = attr(UnicodeAttribute, "status")
ODD = attr(UnicodeAttribute, "a[2].b")  # an attribute's own name is taken whole
TOTAL = attr(NumberAttribute, "total")


def compiled(builder: ExpressionBuilder, text: str | None) -> tuple[str | None, dict[str, Any]]:
    return text, builder.members()


@pytest.mark.parametrize("name", ["GSI1PK", "status", "x[3]", "a.b", "[1]x", "n[0][12]", "é"])
def test_name_actions_compile_as_path_actions(name: str) -> None:
    expected, shortcut = ExpressionBuilder(), ExpressionBuilder()
    pynamo = [Path([name]).set({"S": "v"}), Path(["other"]).remove(), Path([name]).remove()]
    mine = [NameAction(name, {"S": "v"}), NameAction("other"), NameAction(name)]
    assert compiled(shortcut, shortcut.update(mine)) == compiled(expected, expected.update(pynamo))


@pytest.mark.parametrize("attribute", [STATUS, ODD])
def test_if_missing_name_actions_compile_as_if_not_exists(attribute: Any) -> None:
    expected, shortcut = ExpressionBuilder(), ExpressionBuilder()
    text = expected.update([TOTAL.set(5), attribute.set(attribute | "x")])
    mine = shortcut.update(
        [TOTAL.set(5), NameAction(attribute.attr_name, {"S": "x"}, if_missing=True)]
    )
    assert compiled(shortcut, mine) == compiled(expected, text)


def test_a_name_action_with_an_empty_name_is_refused_as_a_path_is() -> None:
    with pytest.raises(ValidationError) as pynamo:
        ExpressionBuilder().update([Path(["[1]"]).set(1)])
    with pytest.raises(ValidationError) as mine:
        ExpressionBuilder().update([NameAction("[1]", {"N": "1"})])
    assert str(mine.value) == str(pynamo.value)


CASES: list[tuple[list[Any], list[Any]]] = [
    ([], []),
    ([STATUS == "PAID"], [STATUS == "PAID"]),
    ([NameCondition("status", {"S": "x"})], [STATUS == "x"]),
    ([NameCondition("status", None)], [STATUS.does_not_exist()]),
    (
        [None, NameCondition("total", {"N": "5"}), None, STATUS == "x"],
        [None, TOTAL == 5, None, STATUS == "x"],
    ),
    (
        [
            TOTAL > 1,
            NameCondition("status", None),
            NameCondition("total", {"N": "1"}),
            STATUS != "y",
        ],
        [TOTAL > 1, STATUS.does_not_exist(), TOTAL == 1, STATUS != "y"],
    ),
]


@pytest.mark.parametrize(("mine", "pynamo"), CASES)
def test_conditions_compile_as_condition_of_conjoin(mine: list[Any], pynamo: list[Any]) -> None:
    expected, shortcut = ExpressionBuilder(), ExpressionBuilder()
    combined: Condition | None = conjoin(*pynamo)
    text = None if combined is None else expected.condition(combined)
    assert compiled(shortcut, shortcut.conditions(mine)) == compiled(expected, text)


@pytest.mark.parametrize(
    ("mine", "pynamo"),
    [
        ([5], [5]),
        ([NameCondition("status", {"S": "x"}), True], [STATUS == "x", True]),
        ([NameCondition("status", None), "x"], [STATUS.does_not_exist(), "x"]),
        (
            [STATUS == "x", NameCondition("total", None), 3],
            [STATUS == "x", TOTAL.does_not_exist(), 3],
        ),
    ],
)
def test_conditions_refuse_what_conjoin_and_condition_refuse(
    mine: list[Any], pynamo: list[Any]
) -> None:
    def pynamo_way() -> None:
        combined = conjoin(*pynamo)
        assert combined is not None
        ExpressionBuilder().condition(combined)

    with pytest.raises(TypeError) as expected:
        pynamo_way()
    with pytest.raises(TypeError) as shortcut:
        ExpressionBuilder().conditions(mine)
    assert str(shortcut.value) == str(expected.value)
