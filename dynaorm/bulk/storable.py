"""Whether DynamoDB would store an item in a table as it is, checked offline (before an
import writes anything)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import ValidationError
from dynaorm.base.limits import PARTITION_KEY_LIMIT, SORT_KEY_LIMIT, check_value
from dynaorm.base.sizes import check_item

if TYPE_CHECKING:
    from dynaorm.api.table import Table


__all__ = ["check_stored_item"]


def _check_no_duplicates(value: Mapping[str, Any], what: str) -> None:
    ((kind, payload),) = value.items()
    if kind in ("SS", "BS", "NS"):
        members = [Decimal(m) for m in payload] if kind == "NS" else payload
        if len(set(members)) != len(members):
            raise ValidationError(f"{what}: the {kind} set holds a member twice")
    elif kind == "L":
        for position, member in enumerate(payload):
            _check_no_duplicates(member, f"{what}[{position}]")
    elif kind == "M":
        for name, member in payload.items():
            _check_no_duplicates(member, f"{what}.{name}")


def _check_key(item: Mapping[str, Any], name: str, limit: int, *, required: bool) -> None:
    value = item.get(name)
    if value is None:
        if required:
            raise ValidationError(f"the item has no key attribute {name!r}")
        return
    text = value.get("S")
    if set(value) != {"S"} or not text:
        raise ValidationError(
            f"key attribute {name!r} is {value!r}; the table's keys are non-empty strings"
        )
    if len(text.encode("utf-8")) > limit:
        raise ValidationError(f"key attribute {name!r} is longer than {limit} bytes")


def check_stored_item(table: Table, item: Mapping[str, Any]) -> None:
    """Raise unless DynamoDB would store ``item`` in ``table`` as it is (checked offline).

    Checks the table's key attributes (present, non-empty strings, within the key size
    limits), index key attributes when present (strings: every key the definition creates
    is one), numbers, text, sets (not empty, no member twice) and the 400 KB item size.

    Raises:
        ValidationError: The first problem found.

    Example:
        >>> from dynaorm import Table
        >>> check_stored_item(Table("t"), {"PK": {"S": "A"}, "SK": {"S": "B"}})
        >>> check_stored_item(Table("t"), {"PK": {"S": "A"}})
        Traceback (most recent call last):
        dynaorm.base.errors.ValidationError: the item has no key attribute 'SK'
    """
    _check_key(item, table.pk, PARTITION_KEY_LIMIT, required=True)
    if table.sk is not None:
        _check_key(item, table.sk, SORT_KEY_LIMIT, required=True)
    for index in table.indexes:
        if index.pk is not None:
            _check_key(item, index.pk, PARTITION_KEY_LIMIT, required=False)
        if index.sk is not None:
            _check_key(item, index.sk, SORT_KEY_LIMIT, required=False)
    for name, value in item.items():
        if not name:
            raise ValidationError(
                "an attribute name is empty; DynamoDB names are 1 or more characters"
            )
        check_value(value, what=f"attribute {name!r}")
        _check_no_duplicates(value, f"attribute {name!r}")
    check_item(item, what="the item")
