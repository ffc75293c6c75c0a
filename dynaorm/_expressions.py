"""Compiling condition and update objects to DynamoDB expression strings.

Conditions and update actions are PynamoDB's expression objects (``Order.total > 100``,
``Order.status.set("PAID")``). A fresh :class:`ExpressionBuilder` per request owns the
placeholder state, so compiling never depends on what was compiled before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action, Update

__all__ = ["ExpressionBuilder", "attribute_missing", "conjoin"]


class ExpressionBuilder:
    """Collects ``ExpressionAttributeNames``/``Values`` for one request.

    Example:
        >>> b = ExpressionBuilder()
        >>> b.condition(attribute_missing("PK"))
        'attribute_not_exists (#0)'
        >>> b.members()
        {'ExpressionAttributeNames': {'#0': 'PK'}}
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, Any] = {}

    def condition(self, condition: Condition) -> str:
        """Compile a condition, registering its names and values."""
        text: str = condition.serialize(self._names, self._values)
        return text

    def update(self, actions: Sequence[Action]) -> str:
        """Compile update actions to an ``UpdateExpression``."""
        text: str | None = Update(*actions).serialize(self._names, self._values)
        return text or ""

    def members(self) -> dict[str, Any]:
        """The name and value maps to merge into the request (empty ones left out)."""
        out: dict[str, Any] = {}
        if self._names:
            out["ExpressionAttributeNames"] = {p: n for n, p in self._names.items()}
        if self._values:
            out["ExpressionAttributeValues"] = dict(self._values)
        return out


def attribute_missing(name: str) -> Condition:
    """``attribute_not_exists(name)`` for a top-level attribute named ``name``."""
    condition: Condition = Path([name]).does_not_exist()
    return condition


def conjoin(*conditions: Condition | None) -> Condition | None:
    """AND together the conditions that are not ``None``."""
    result: Condition | None = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else result & condition
    return result
