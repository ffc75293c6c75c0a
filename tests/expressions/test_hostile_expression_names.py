"""Hostile attribute names through the expression builder (dynaorm/expressions/compile.py):
any name compiles to placeholders only, and round-trips through the real server in raw
requests. (The entity-level hostile-name tests are tests/model/test_hostile_names.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pynamodb.expressions.operand import Path
from support import fresh_table

from dynaorm import ConditionFailed, Table
from dynaorm.expressions.compile import ExpressionBuilder

raw = Table("test-hostile-expression-names")


@pytest.fixture(scope="module")
def table(dynamodb_endpoint: str) -> Iterator[Table]:
    with fresh_table(raw, dynamodb_endpoint) as made:
        yield made


# -- any name, through the expression builder ------------------------------------------------

NAME_PIECES = [".", "[", "]", ":", "#", " ", "(", ")", "=", ",", "n0", "v0", "1", "a", "SIZE"]
# Non-empty; not ending in "[<digits>]" (a raw path segment ending so is a list index).
hostile_names = (
    st.one_of(
        st.lists(st.sampled_from(NAME_PIECES), min_size=1, max_size=6).map("".join),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    )
    .filter(lambda n: not re.search(r"\[[0-9]+\]\Z", n))
    .filter(lambda n: n not in {"PK", "SK"})
)
PLACEHOLDERS = re.compile(r"#n\d+|:v\d+")


@given(attribute_names=st.lists(hostile_names, min_size=1, max_size=5, unique=True))
@settings(max_examples=200)
def test_compiled_expressions_hold_only_placeholders(attribute_names: list[str]) -> None:
    builder = ExpressionBuilder()
    condition = Path([attribute_names[0]]) == "v"
    for position, name in enumerate(attribute_names[1:]):
        condition = condition & (Path([name]) != position)
    text = builder.condition(condition)
    projection = builder.projection(attribute_names)
    update = builder.update([Path([n]).set("x") for n in attribute_names])
    members = builder.members()
    assert sorted(members["ExpressionAttributeNames"].values()) == sorted(attribute_names)
    for compiled in (text, projection, update):
        stripped = PLACEHOLDERS.sub("", compiled)
        assert "#" not in stripped
        assert ":" not in stripped
        assert set(PLACEHOLDERS.findall(compiled)) <= set(
            members["ExpressionAttributeNames"]
        ) | set(members["ExpressionAttributeValues"])


@given(name=hostile_names, value=st.text(min_size=1, max_size=8))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_name_round_trips_through_the_server(table: Table, name: str, value: str) -> None:
    """SET, a condition, a projection and REMOVE on an arbitrary name, as raw requests."""
    key = {"PK": {"S": "RAW#names"}, "SK": {"S": "RAW"}}

    def send(operation: str, build: Any, **request: Any) -> dict[str, Any]:
        builder = ExpressionBuilder()
        request.update({k: build(builder, v) for k, v in request.pop("compile", {}).items()})
        request.update(builder.members())
        result: dict[str, Any] = table.call(
            operation, {"TableName": table.name, "Key": key, **request}, idempotent=False
        )
        return result

    path = Path([name])
    send(
        "UpdateItem",
        lambda b, actions: b.update(actions),
        compile={"UpdateExpression": [path.set(value)]},
    )
    item = send(
        "GetItem",
        lambda b, targets: b.projection(targets),
        compile={"ProjectionExpression": [name]},
        ConsistentRead=True,
    )["Item"]
    assert item == {name: {"S": value}}
    send(
        "UpdateItem",
        lambda b, actions: b.update(actions) if isinstance(actions, list) else b.condition(actions),
        compile={"UpdateExpression": [path.remove()], "ConditionExpression": path == value},
    )
    with pytest.raises(ConditionFailed):
        send(
            "DeleteItem",
            lambda b, condition: b.condition(condition),
            compile={"ConditionExpression": path.exists()},
        )
