"""Python values as DynamoDB stores them: exact decimals, and typed errors for the values no
attribute can encode.

:class:`DecimalAttribute` stores a :class:`~decimal.Decimal` exactly (up to DynamoDB's 38
significant digits) and reads it back as a ``Decimal``. :func:`guard_attribute` makes a
declared attribute refuse what it cannot encode (a ``Decimal`` in a ``NumberAttribute``, an
aware datetime whose UTC value overflows, a map with a non-text key, a value nested too deeply
for Python to encode) with a :class:`~dynaorm.ValidationError` naming the attribute, when the
value is encoded: on a write, and when an update action or condition is built with it.

This module is pure: no I/O and no knowledge of entities beyond the names it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pynamodb.attributes import Attribute, MapAttribute
from pynamodb.constants import NUMBER
from pynamodb.exceptions import AttributeNullError

from dynaorm._errors import ValidationError
from dynaorm._limits import NESTING_LIMIT, decimal_text, number_problem, short_repr

__all__ = ["DecimalAttribute", "guard_attribute", "invalid_value", "to_decimal", "unguarded"]


def to_decimal(value: Any) -> Decimal:
    """``value`` as a ``Decimal`` a :class:`DecimalAttribute` stores exactly.

    Raises:
        TypeError: ``value`` is not a ``Decimal`` or an ``int`` (a float is refused: it is
            binary, so convert it explicitly, e.g. ``Decimal(str(x))``).
        ValueError: NaN, infinity, more than 38 significant digits, or out of DynamoDB's range.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        hint = ": convert it explicitly, e.g. Decimal(str(x))" if isinstance(value, float) else ""
        raise TypeError(
            f"a DecimalAttribute holds Decimal or int values, got {type(value).__name__} "
            f"{short_repr(value)}{hint}"
        )
    number = Decimal(value)
    problem = number_problem(number)
    if problem is not None:
        raise ValueError(problem)
    return number


class DecimalAttribute(Attribute[Decimal]):
    """A number stored exactly and read back as a :class:`~decimal.Decimal`: money, or any
    number of more than 17 significant digits (DynamoDB keeps up to 38).

    It takes ``Decimal`` and ``int`` values (a float is refused: convert it explicitly) and
    refuses NaN, infinity, more than 38 significant digits and numbers outside DynamoDB's
    range (1E-130 to 9.99E+125) with a :class:`~dynaorm.ValidationError` before any request.
    It works in key templates (``"{price}"``, exact; ``"{cents:010d}"`` for whole numbers),
    update expressions (``set``, ``add``, arithmetic), conditions and filters.

    Example:
        >>> from decimal import Decimal, InvalidOperation
        >>> DecimalAttribute().serialize(Decimal("19.990"))
        '19.99'
        >>> DecimalAttribute().deserialize("0.1000000000000000000000000000000000001")
        Decimal('0.1000000000000000000000000000000000001')
    """

    attr_type = NUMBER

    def serialize(self, value: Any) -> str:
        """The wire text of ``value`` (exact, plain notation)."""
        return decimal_text(to_decimal(value))

    def deserialize(self, value: Any) -> Decimal:
        """The stored number as a ``Decimal``.

        Raises:
            ValueError: ``value`` is not number text.
        """
        try:
            return Decimal(value)
        except (InvalidOperation, TypeError):
            raise ValueError(f"{short_repr(value)} is not a number") from None


def _mentions_decimal(exc: BaseException) -> bool:
    # What json.dumps (NumberAttribute) and PynamoDB's encoder lookup (raw maps and lists)
    # raise for a Decimal.
    text = str(exc)
    return "Object of type Decimal " in text or "<class 'decimal.Decimal'>" in text


def _reason(attribute: Attribute[Any], value: Any, exc: BaseException) -> str:
    kind = type(attribute).__name__
    if isinstance(exc, RecursionError):
        return (
            f"the value is nested too deeply to encode; DynamoDB allows {NESTING_LIMIT} levels "
            "of maps and lists. Flatten it or store it as JSON text"
        )
    if isinstance(exc, OverflowError):
        what = value.isoformat() if isinstance(value, datetime) else "a datetime in it"
        return (
            f"{what} is out of range once converted to UTC (datetimes must fall between "
            "0001-01-01 and 9999-12-31 UTC)"
        )
    if _mentions_decimal(exc):
        if "<class" in str(exc):
            return (
                "maps and lists without declared attributes hold int and float numbers, not "
                "Decimal; declare a MapAttribute subclass with a DecimalAttribute "
                "(or ListAttribute(of=DecimalAttribute)) to store decimals exactly"
            )
        return (
            f"a {kind} holds int or float numbers, not Decimal; declare the attribute as a "
            "dynaorm.DecimalAttribute to store decimals exactly"
        )
    if isinstance(exc, TypeError) and "keywords must be strings" in str(exc):
        return "DynamoDB map keys are text: convert the keys to str"
    return str(exc) or type(exc).__name__


def invalid_value(who: str, attribute: Attribute[Any], value: Any, exc: BaseException) -> str:
    """The message of the :class:`~dynaorm.ValidationError` for a value ``attribute`` could
    not encode (``exc`` is what encoding raised)."""
    return f"{who}: {short_repr(value)} cannot be stored: {_reason(attribute, value, exc)}"


_UNGUARDED = "_dynaorm_unguarded"


def unguarded(attribute: Attribute[Any]) -> Callable[..., Any]:
    """The attribute's ``serialize`` without the guard of :func:`guard_attribute` (for a
    caller that turns the errors into :class:`~dynaorm.ValidationError` itself)."""
    original: Callable[..., Any] = getattr(attribute, _UNGUARDED, None) or attribute.serialize
    return original


def guard_attribute(attribute: Attribute[Any], who: str) -> None:
    """Make ``attribute`` raise :class:`~dynaorm.ValidationError` (naming ``who``) for a value
    it cannot encode, instead of whatever its encoding raises.

    The attribute's own ``serialize`` is wrapped on the instance, so every encoding of a value
    for it is covered: a write, and a value in an update action, condition or filter (which
    PynamoDB encodes when the expression is built). The attributes of a typed
    ``MapAttribute`` reached through it (``Order.address.city``) are guarded as well.
    Guarding twice is harmless.
    """
    if getattr(attribute, _UNGUARDED, None) is not None:
        return
    original: Callable[..., Any] = attribute.serialize

    def serialize(value: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(value, *args, **kwargs)
        except (ValidationError, AttributeNullError):
            raise
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise ValidationError(invalid_value(who, attribute, value, exc)) from None

    attribute.serialize = serialize  # type: ignore[method-assign]
    setattr(attribute, _UNGUARDED, original)
    if isinstance(attribute, MapAttribute) and type(attribute) is not MapAttribute:
        for name, nested in list(vars(attribute).items()):
            if isinstance(nested, Attribute):
                guard_attribute(nested, f"{who}.{name}")
