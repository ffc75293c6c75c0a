"""DynamoDB's limits, enforced client-side before any request.

Local servers let some of these through (moto accepts items past 400 KB after an update and
numbers over 38 digits), so dynaorm checks them itself and raises ``ValidationError``.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dynaorm.base.errors import ValidationError

__all__ = [
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "ITEM_SIZE_LIMIT",
    "NESTING_LIMIT",
    "PARTITION_KEY_LIMIT",
    "SORT_KEY_LIMIT",
    "TRANSACTION_ACTION_LIMIT",
    "TRANSACTION_SIZE_LIMIT",
    "check_number",
    "check_text",
    "check_value",
    "decimal_text",
    "number_problem",
    "short_repr",
    "significant_digits",
]

ITEM_SIZE_LIMIT = 400 * 1024
TRANSACTION_SIZE_LIMIT = 4 * 1024 * 1024
TRANSACTION_ACTION_LIMIT = 100
BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
# Bytes (UTF-8) a key attribute value may hold, for the table and for every index.
PARTITION_KEY_LIMIT = 2048
SORT_KEY_LIMIT = 1024
NUMBER_MAX_DIGITS = 38
# Levels of maps and lists DynamoDB allows inside one attribute (a top-level map is level 1).
NESTING_LIMIT = 32
_NUMBER_MAX = Decimal("9.9999999999999999999999999999999999999E+125")
_NUMBER_MIN = Decimal("1E-130")


def significant_digits(number: Decimal) -> int:
    """The significant digits of a finite number (1 for zero), exactly as DynamoDB counts
    them: leading and trailing zeros do not count.

    Example:
        >>> significant_digits(Decimal("-0012.500")), significant_digits(Decimal("1E+40"))
        (3, 1)
    """
    # Not normalize(): it rounds to the context's 28 digits, hiding a 39-digit number.
    text = "".join(map(str, number.as_tuple().digits)).strip("0")
    return len(text) or 1


def number_problem(value: Any) -> str | None:
    """Why DynamoDB cannot store ``value`` exactly as a number, or ``None`` when it can.

    Args:
        value: The number, or its text as sent on the wire (``"1.5"``, ``"NaN"``).
    """
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{short_repr(value)} is not a number"
    if not number.is_finite():
        return (
            f"{short_repr(value)} cannot be stored: DynamoDB numbers cannot be NaN or infinity; "
            "leave the attribute unset or store a sentinel value instead"
        )
    if number.is_zero():
        return None
    digits = significant_digits(number)
    if digits > NUMBER_MAX_DIGITS:
        return (
            f"{short_repr(value)} has {digits} significant digits; DynamoDB keeps at most "
            f"{NUMBER_MAX_DIGITS}: round it (Decimal.quantize) or store it as text"
        )
    if not _NUMBER_MIN <= number.copy_abs() <= _NUMBER_MAX:  # copy_abs() does not round
        return (
            f"{short_repr(value)} is outside DynamoDB's number range (1E-130 to 9.99E+125); "
            "scale it or store it as text"
        )
    return None


def check_number(value: Any, *, what: str) -> None:
    """Raise unless ``value`` is a number DynamoDB can store exactly.

    Args:
        value: The number, or its text as sent on the wire (``"1.5"``, ``"NaN"``).
        what: Who holds it, for the message (``"Order.total"``).

    Raises:
        ValidationError: Not a number, NaN, infinity, more than 38 significant digits, or out
            of range.
    """
    problem = number_problem(value)
    if problem is not None:
        raise ValidationError(f"{what}: {problem}")


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 60
_SHORT.maxlevel = 3


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened (and safe for values nested too deeply for ``repr``)."""
    try:
        return _SHORT.repr(value)
    except Exception:  # a hostile __repr__, or one nested past the recursion limit
        return f"<{type(value).__name__}>"


def decimal_text(number: Decimal) -> str:
    """The canonical plain text of a finite ``Decimal``: no exponent, no trailing zeros after
    the point, ``"0"`` for zero of either sign. Exact (never rounded).

    Example:
        >>> [decimal_text(Decimal(t)) for t in ("1.50", "1E+3", "-0", "1E-5")]
        ['1.5', '1000', '0', '0.00001']
    """
    if number.is_zero():
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def check_text(text: str, *, what: str) -> None:
    """Raise unless ``text`` can be sent as UTF-8 (Python strings may hold lone surrogates).

    Raises:
        ValidationError: ``text`` holds a lone surrogate, which has no UTF-8 encoding.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{what}: {text!r} holds a lone surrogate ({text[exc.start]!r} at position "
            f"{exc.start}), which is not valid Unicode; DynamoDB strings are UTF-8. Repair "
            "the text, e.g. decode its source bytes with errors='replace'"
        ) from None


def check_value(value: Mapping[str, Any], *, what: str, depth: int = 0) -> None:
    """Raise unless a typed value (``{"N": "1.5"}``) is one DynamoDB stores as given.

    Numbers (also inside sets, lists and maps) must be finite, within range and at most 38
    significant digits; strings (also set members and map keys) must be valid Unicode text;
    binary values must be bytes; sets must not be empty; maps and lists may nest at most 32
    levels deep.

    Args:
        value: The typed value.
        what: Who holds it, for the message (``"Order.meta"``).
        depth: How many maps and lists hold ``value`` (0 for an attribute's own value).

    Raises:
        ValidationError: The first bad value, named by ``what`` plus its path inside it.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValidationError(f"{what}: {short_repr(value)} is not a typed DynamoDB value")
    ((kind, raw),) = value.items()
    if kind in ("SS", "NS", "BS") and not raw:
        raise ValidationError(
            f"{what}: DynamoDB sets cannot be empty; remove the attribute instead, or leave "
            "out an action that would add or delete no members"
        )
    if kind == "N":
        check_number(raw, what=what)
    elif kind == "NS":
        for member in raw:
            check_number(member, what=what)
    elif kind == "S":
        if not isinstance(raw, str):
            raise ValidationError(
                f"{what}: {short_repr(raw)} is a {type(raw).__name__}, but the attribute holds "
                "text; convert it to str or use an attribute of the right type"
            )
        check_text(raw, what=what)
    elif kind == "SS":
        if not all(isinstance(m, str) for m in raw):
            raise ValidationError(f"{what}: string set {short_repr(raw)} holds non-text members")
        for member in raw:
            check_text(member, what=what)
    elif kind in ("B", "BS"):
        members = raw if kind == "BS" else [raw]
        if not all(isinstance(m, bytes | bytearray | str) for m in members):
            raise ValidationError(f"{what}: binary value {short_repr(raw)} is not bytes")
    elif kind in ("L", "M"):
        if depth >= NESTING_LIMIT:
            raise ValidationError(
                f"{what}: maps and lists nest more than {NESTING_LIMIT} levels deep; DynamoDB "
                f"allows {NESTING_LIMIT}. Flatten the value or store it as JSON text"
            )
        if kind == "L":
            for position, member in enumerate(raw):
                check_value(member, what=f"{what}[{position}]", depth=depth + 1)
            return
        for name, member in raw.items():
            if not isinstance(name, str):
                raise ValidationError(
                    f"{what}: map key {short_repr(name)} is a {type(name).__name__}; DynamoDB map "
                    "keys are text: convert the keys to str"
                )
            check_text(name, what=f"{what} (map key)")
            check_value(member, what=f"{what}.{name}", depth=depth + 1)
