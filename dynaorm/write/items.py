"""Whole-item writes (PutItem, DeleteItem) and the validation of an item before it is sent.

An entity's ``save()``/``delete()`` delegate here, and run a write plan
(:mod:`dynaorm.write.plans`). Optimistic locking works the same way for every write: the
request is conditioned on the version the instance holds (or on the item not existing, for a
first save) and writes the next one; a failed condition comes back with the stored item
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) and becomes a
:class:`~dynaorm.VersionConflict` when the stored version is not the expected one
(:mod:`dynaorm.write.failures`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pynamodb.expressions.condition import Condition

from dynaorm.base.limits import ITEM_SIZE_LIMIT, NESTING_LIMIT, check_item, check_value
from dynaorm.write.failures import condition_error
from dynaorm.write.plans import delete_plan, put_plan

if TYPE_CHECKING:
    from dynaorm.model.entity import Entity

# condition_error is re-exported for dynaorm.model.entity.
__all__ = ["condition_error", "delete_entity", "save_entity", "validate_item"]


# A number as PynamoDB writes it in plain notation; at most 38 characters long, such text has at
# most 38 significant digits and lies well inside DynamoDB's range (1E-130 to 9.99E+125).
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_NUMBER_FAST_LENGTH = 38


def _number_size(text: Any) -> int:
    if (
        type(text) is not str
        or len(text) > _NUMBER_FAST_LENGTH
        or not _PLAIN_NUMBER.fullmatch(text)
    ):
        raise _Unusual
    digits = len(text.lstrip("-").replace(".", "").strip("0")) or 1
    return (digits + 1) // 2 + 1


class _Unusual(Exception):
    """A value the fast check does not decide; the full check runs instead."""


def _text_size(text: str) -> int:
    # ASCII text (the common case) is one byte a character and cannot hold a lone surrogate.
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _size(value: Any, depth: int = 0) -> int:
    """The size of a typed value when it plainly passes every check of ``check_value``
    (``depth``: the maps and lists holding it)."""
    if type(value) is not dict or len(value) != 1:
        raise _Unusual
    for kind, raw in value.items():
        kind_of = type(raw)
        if kind == "S" and kind_of is str:
            return _text_size(raw)
        if kind == "N":
            return _number_size(raw)
        if kind == "M" and kind_of is dict and depth < NESTING_LIMIT:
            return 3 + _members_size(raw, depth + 1)
        if kind == "L" and kind_of is list and depth < NESTING_LIMIT:
            total = 3
            for member in raw:
                total += 1 + _size(member, depth + 1)
            return total
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "SS" and kind_of is list:
            total = 0
            for text in raw:
                if type(text) is not str:
                    raise _Unusual
                total += _text_size(text)
            return total
        if kind == "NS" and kind_of is list:
            return sum(_number_size(number) for number in raw)
    raise _Unusual


def _plainly_valid(item: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when every value plainly passes ``check_value`` and the item fits in 400 KB.

    A fast path for the common case; anything it is unsure about goes to the full checks,
    which raise the precise error.
    """
    try:
        # An item's attributes count their names and values only, without a map member's byte.
        size = _members_size(item) - len(item)
    except (_Unusual, UnicodeEncodeError, AttributeError, TypeError):
        return False
    return size <= ITEM_SIZE_LIMIT


def _members_size(members: Mapping[str, Any], depth: int = 0) -> int:
    """Names plus values of an item or a map (each map member also counts one byte)."""
    total = 0
    for name, value in members.items():
        if type(name) is not str:  # (bytes have isascii() too)
            raise _Unusual
        total += 1 + (len(name) if name.isascii() else len(name.encode("utf-8")))
        # Text values inline: most values are, and a call per value is a good part of the cost.
        text = value.get("S") if type(value) is dict and len(value) == 1 else None
        if type(text) is str:
            total += len(text) if text.isascii() else len(text.encode("utf-8"))
        else:
            total += _size(value, depth)
    return total


def validate_item(entity: type[Entity], item: Mapping[str, Mapping[str, Any]]) -> None:
    """Check a full item before it is sent: well-formed values and at most 400 KB.

    Raises:
        ValidationError: A number DynamoDB cannot store (NaN, infinity, > 38 digits, out of
            range), text that is not a string, or an item over 400 KB.
    """
    if _plainly_valid(item):
        return
    names = {a.attr_name: n for n, a in entity.get_attributes().items()}
    for name, value in item.items():
        check_value(value, what=f"{entity.__qualname__}.{names.get(name, name)}")
    table = entity.__table__
    key = {k: item[k].get("S") for k in (table.pk, table.sk) if k and k in item}
    check_item(item, what=f"{entity.__qualname__} {key}")


def save_entity(instance: Entity, condition: Condition | None) -> None:
    """PutItem the whole instance; see :meth:`Entity.save`."""
    put_plan(instance, condition).execute()


def delete_entity(instance: Entity, condition: Condition | None) -> None:
    """DeleteItem the instance's item; see :meth:`Entity.delete`."""
    delete_plan(type(instance), instance.item_key, condition, instance=instance).execute()
