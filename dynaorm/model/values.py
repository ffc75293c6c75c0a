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

from collections.abc import Callable, Iterable, Mapping, Set as AbstractSet
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BinarySetAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import NUMBER
from pynamodb.exceptions import AttributeNullError

from dynaorm.base.errors import ValidationError
from dynaorm.base.limits import NESTING_LIMIT, decimal_text, number_problem, short_repr

__all__ = [
    "ENCODING_ERRORS",
    "DecimalAttribute",
    "guard_attribute",
    "invalid_value",
    "to_decimal",
    "unguarded",
]


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
_SET_TYPES = (UnicodeSetAttribute, NumberSetAttribute, BinarySetAttribute)
_TEXT_LIKE = (str, bytes, bytearray)
_CHECKED_TYPES: tuple[type[Attribute[Any]], ...] = (
    *_SET_TYPES,
    ListAttribute,
    MapAttribute,
    BooleanAttribute,
    UTCDateTimeAttribute,
    NumberAttribute,
)


def _type_check(attribute: Attribute[Any]) -> Callable[[Any], None] | None:
    """A check of the value's Python type for the attributes whose encoding would otherwise
    store something else than the value (``"abc"`` as the set ``{"a", "b", "c"}``, ``"no"``
    as ``True``), or fail with an unhelpful error; ``None`` when no check is needed."""
    kind = type(attribute).__name__
    encoder = type(attribute).serialize
    if not any(encoder is base.serialize for base in _CHECKED_TYPES):
        return None  # a serialize of the application's own: it knows what it takes
    if isinstance(attribute, _SET_TYPES):

        def check_set(value: Any) -> None:
            if isinstance(value, (*_TEXT_LIKE, Mapping)) or not isinstance(value, Iterable):
                raise TypeError(f"a {kind} holds a set, got {type(value).__name__}")
            if not isinstance(value, AbstractSet):
                members = list(value)
                if len(set(members)) != len(members):
                    raise TypeError(f"a {kind} holds a set, got a {kind} with duplicates")

        return check_set
    if isinstance(attribute, ListAttribute):

        def check_list(value: Any) -> None:
            if isinstance(value, (*_TEXT_LIKE, Mapping)) or not isinstance(value, Iterable):
                raise TypeError(f"a {kind} holds a list, got {type(value).__name__}")

        return check_list
    if type(attribute) is MapAttribute:

        def check_map(value: Any) -> None:
            if not isinstance(value, Mapping | MapAttribute):
                raise TypeError(f"a {kind} holds a dict, got {type(value).__name__}")

        return check_map
    if isinstance(attribute, BooleanAttribute):

        def check_bool(value: Any) -> None:
            if not isinstance(value, bool):
                raise TypeError(f"a {kind} holds True or False, got {type(value).__name__}")

        return check_bool
    if isinstance(attribute, UTCDateTimeAttribute):

        def check_datetime(value: Any) -> None:
            if not isinstance(value, datetime):
                raise TypeError(f"a {kind} holds datetime values, got {type(value).__name__}")

        return check_datetime
    if isinstance(attribute, NumberAttribute):

        def check_number(value: Any) -> None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                if isinstance(value, Decimal):
                    raise TypeError("Object of type Decimal is not JSON serializable")
                raise TypeError(
                    f"expected a number (a {kind} holds int or float), got {type(value).__name__}"
                )

        return check_number
    return None


def _checked(attribute: Attribute[Any]) -> Callable[..., Any]:
    """The attribute's own ``serialize``, after the check of :func:`_type_check`."""
    original: Callable[..., Any] = attribute.serialize
    check = _type_check(attribute)
    if check is None:
        return original

    def encode(value: Any, *args: Any, **kwargs: Any) -> Any:
        check(value)
        return original(value, *args, **kwargs)

    return encode


def unguarded(attribute: Attribute[Any]) -> Callable[..., Any]:
    """The attribute's ``serialize`` (after the type check that guarding adds) without the
    error translation of :func:`guard_attribute`, for a caller that turns the errors into
    :class:`~dynaorm.ValidationError` itself."""
    original: Callable[..., Any] = getattr(attribute, _UNGUARDED, None) or attribute.serialize
    return original


# What encoding a hostile value may raise (a str where a datetime belongs raises
# AttributeError, a list where a map belongs IndexError).
ENCODING_ERRORS = (
    TypeError,
    ValueError,
    ArithmeticError,
    RecursionError,
    AttributeError,
    LookupError,
)


def guard_attribute(attribute: Attribute[Any], who: str) -> None:
    """Make ``attribute`` raise :class:`~dynaorm.ValidationError` (naming ``who``) for a value
    it cannot encode, instead of whatever its encoding raises or, for a few types, instead of
    storing something else (a text where a set or list belongs, a non-bool for a bool).

    The attribute's own ``serialize`` is wrapped on the instance, so every encoding of a value
    for it is covered: a write, and a value in an update action, condition or filter (which
    PynamoDB encodes when the expression is built). The attributes of a typed
    ``MapAttribute`` reached through it (``Order.address.city``) are guarded as well.
    Guarding twice is harmless.
    """
    if getattr(attribute, _UNGUARDED, None) is not None:
        return
    encode = _checked(attribute)

    def serialize(value: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return encode(value, *args, **kwargs)
        except (ValidationError, AttributeNullError):
            raise
        except ENCODING_ERRORS as exc:
            raise ValidationError(invalid_value(who, attribute, value, exc)) from None

    attribute.serialize = serialize  # type: ignore[method-assign]
    setattr(attribute, _UNGUARDED, encode)
    if isinstance(attribute, MapAttribute) and type(attribute) is not MapAttribute:
        for name, nested in list(vars(attribute).items()):
            if isinstance(nested, Attribute):
                guard_attribute(nested, f"{who}.{name}")
