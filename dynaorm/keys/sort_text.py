"""Conditions on the raw text of a sort key, for reads that span entity types.

An entity query restricts its sort key by conditions on its template's fields
(:mod:`dynaorm.keys.ranges`). A read of a whole item collection holds several types whose sort
keys follow different templates, so it takes a condition on the key text itself:
``sort_key.between("i#2020-06-01", "i#2020-06-15")``, ``sort_key >= "2020-06"``,
``sort_key.begins_with("sh#")``. Each compiles to one DynamoDB sort-key condition, compared as
DynamoDB compares keys (code-point order).

This module is pure: no I/O, no entities.
"""

from __future__ import annotations

from typing import Any

from dynaorm.base.errors import ValidationError
from dynaorm.keys.ranges import SortKeyCondition

__all__ = ["SortKeyText", "sort_key"]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"sort_key {what} takes non-empty key text, got {value!r}")
    return value


class SortKeyText:
    """Builds :class:`~dynaorm.keys.ranges.SortKeyCondition` objects on a sort key's raw text.

    Use the module's one instance, ``dynaorm.sort_key``.

    Example:
        >>> sort_key.between("i#2020-06-01", "i#2020-06-15")
        SortKeyCondition(operator='BETWEEN', values=('i#2020-06-01', 'i#2020-06-15'))
        >>> (sort_key >= "p#").operator, sort_key.begins_with("sh#").values
        ('>=', ('sh#',))
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "sort_key"

    def __eq__(self, value: object) -> SortKeyCondition:  # type: ignore[override]
        return SortKeyCondition("=", (_text(value, "=="),))

    def __hash__(self) -> int:
        return id(self)

    def __lt__(self, value: str) -> SortKeyCondition:
        return SortKeyCondition("<", (_text(value, "<"),))

    def __le__(self, value: str) -> SortKeyCondition:
        return SortKeyCondition("<=", (_text(value, "<="),))

    def __gt__(self, value: str) -> SortKeyCondition:
        return SortKeyCondition(">", (_text(value, ">"),))

    def __ge__(self, value: str) -> SortKeyCondition:
        return SortKeyCondition(">=", (_text(value, ">="),))

    def between(self, low: str, high: str) -> SortKeyCondition:
        """Keys from ``low`` to ``high``, both included.

        Raises:
            ValidationError: ``low`` sorts after ``high`` (DynamoDB refuses such a range).
        """
        low, high = _text(low, "between"), _text(high, "between")
        if low > high:
            raise ValidationError(f"sort_key.between({low!r}, {high!r}): the low bound is higher")
        return SortKeyCondition("BETWEEN", (low, high))

    def begins_with(self, prefix: str) -> SortKeyCondition:
        """Keys starting with ``prefix``."""
        return SortKeyCondition("begins_with", (_text(prefix, "begins_with"),))

    startswith = begins_with


sort_key = SortKeyText()
