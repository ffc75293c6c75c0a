"""DynamoDB's limits, enforced client-side before any request.

Local servers let some of these through (moto accepts items past 400 KB after an update and
numbers over 38 digits), so dynaorm checks them itself and raises ``ValidationError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dynaorm._errors import ValidationError

__all__ = [
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "ITEM_SIZE_LIMIT",
    "TRANSACTION_ACTION_LIMIT",
    "TRANSACTION_SIZE_LIMIT",
    "check_item",
    "check_number",
    "item_size",
    "value_size",
]

ITEM_SIZE_LIMIT = 400 * 1024
TRANSACTION_SIZE_LIMIT = 4 * 1024 * 1024
TRANSACTION_ACTION_LIMIT = 100
BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
NUMBER_MAX_DIGITS = 38
_NUMBER_MAX = Decimal("9.9999999999999999999999999999999999999E+125")
_NUMBER_MIN = Decimal("1E-130")


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return (significant + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes one typed value (``{"S": "abc"}``) counts toward the item size."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode("utf-8"))
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in raw)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in raw.items())
    raise ValidationError(f"unknown DynamoDB value type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes an item counts toward DynamoDB's 400 KB limit: names plus values."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def check_item(item: Mapping[str, Mapping[str, Any]], *, what: str) -> int:
    """Return the item's size, or raise when it is over 400 KB.

    Raises:
        ValidationError: The item is larger than DynamoDB accepts.
    """
    size = item_size(item)
    if size > ITEM_SIZE_LIMIT:
        raise ValidationError(
            f"{what} is {size:,} bytes; DynamoDB items are limited to {ITEM_SIZE_LIMIT:,} bytes "
            "(names and values). Move large values to S3 or split the item."
        )
    return size


def check_number(value: Any, *, what: str) -> None:
    """Raise unless ``value`` is a number DynamoDB can store exactly.

    Raises:
        ValidationError: NaN, infinity, more than 38 significant digits, or out of range.
    """
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{what}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ValidationError(f"{what}: {value!r} cannot be stored; DynamoDB has no NaN/infinity")
    if number.is_zero():
        return
    digits = number.normalize().as_tuple().digits
    if len(digits) > NUMBER_MAX_DIGITS:
        raise ValidationError(
            f"{what}: {value!r} has {len(digits)} significant digits; DynamoDB keeps at most "
            f"{NUMBER_MAX_DIGITS}"
        )
    if not _NUMBER_MIN <= abs(number) <= _NUMBER_MAX:
        raise ValidationError(
            f"{what}: {value!r} is outside DynamoDB's number range (1E-130 to 9.99E+125)"
        )
