"""Field codecs: how one key-template field renders a Python value as key text and reads it
back.

Each codec renders text that sorts like the value (zero-padded numbers, fixed-width UTC
datetimes) and reads back exactly the value it was built from, so every stored key parses
back unambiguously (:class:`~dynaorm.keys.templates.KeyTemplate` checks the rest: the
delimiter, emptiness, length).

This module is pure: no I/O and no knowledge of entities.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import attrs

from dynaorm.base.limits import decimal_text, number_problem

__all__ = [
    "DATETIME_FORMATS",
    "CodecResolver",
    "DateTimeCodec",
    "FieldCodec",
    "NumberCodec",
    "TextCodec",
    "default_codec",
]


class FieldCodec(Protocol):
    """Turns one field value into key text and back."""

    def to_text(self, value: Any) -> str:
        """Render ``value``; raise ``TypeError``/``ValueError`` when it cannot be rendered."""

    def from_text(self, text: str) -> Any:
        """Read back a value rendered by :meth:`to_text`."""

    def alphabet(self) -> frozenset[str] | None:
        """Every character :meth:`to_text` may write, ``None`` when it may write any; the
        collision check relies on it (:mod:`dynaorm.keys.collisions`)."""


@attrs.frozen
class TextCodec:
    """Strings, stored as they are."""

    def to_text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected str, got {type(value).__name__}")
        return value

    def from_text(self, text: str) -> Any:
        return text

    def alphabet(self) -> frozenset[str] | None:
        """Every character the codec's text can hold (``None``: any)."""
        return None


# The number specs a key field takes: an optional sign, an optional zero-pad flag with a
# width, and the integer type "d". Any other spec can render two numbers as one key text
# (".2f" turns 19.994 and 19.991 into "19.99"; "g", "e", "%" and ".2f" on large ints round),
# or renders text that does not read back (hex, grouping, fill characters).
_INTEGER_SPEC = re.compile(r"(?P<sign>[-+ ]?)(?P<zero>0?)(?P<width>[1-9][0-9]*)?d")


def _refuse_spec(spec: str) -> None:
    try:
        format(12345, spec)
    except ValueError:
        raise ValueError(f"{spec!r} is not a valid number format") from None
    raise ValueError(
        f"format {spec!r} is refused: the key text it renders does not read back as "
        "exactly the number it was built from for every value (with '.2f', 19.994 and 19.991 "
        "both build '19.99', so the second save() would replace the first item). Key fields "
        "take only the integer specs '[sign][0][width]d', e.g. '08d': store money as whole "
        "cents ('{cents:010d}'), or leave out the spec to keep the exact value (which does "
        "not sort numerically as text)"
    )


@attrs.frozen
class NumberCodec:
    """Numbers rendered with an integer format spec, e.g. ``08d`` (zero-padded so text order
    is numeric order), or without a spec in plain, exact text (which does not sort as text).

    Every accepted value reads back exactly: fractional, general and exponent specs
    (``.2f``, ``g``, ``e``) are refused when the template is compiled.

    Attributes:
        spec: The format spec (``""`` or ``[sign][0][width]d``).
        exact: Whether the field is a ``DecimalAttribute``: it takes ``Decimal`` and ``int``
            values and reads back ``Decimal``. Otherwise it takes ``int`` and ``float`` and
            reads back ``int`` (text without a point or exponent) or ``float``.
    """

    spec: str = ""
    exact: bool = False
    _width: int | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        match = _INTEGER_SPEC.fullmatch(self.spec)
        if self.spec and match is None:
            _refuse_spec(self.spec)
        width = None
        if match is not None and match.group("zero") and match.group("width"):
            width = int(match.group("width"))
        object.__setattr__(self, "_width", width)

    @property
    def width(self) -> int | None:
        """The zero-padded width of the spec, if it sets one."""
        return self._width

    def _number(self, value: Any) -> Any:
        if self.exact:
            if isinstance(value, bool) or not isinstance(value, int | Decimal):
                raise TypeError(
                    f"expected a number (Decimal or int for a DecimalAttribute field), got "
                    f"{type(value).__name__}"
                )
            number = Decimal(value)
            problem = number_problem(number)
            if problem is not None:
                raise ValueError(problem)
            return number
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = "; use a DecimalAttribute for Decimal" if isinstance(value, Decimal) else ""
            raise TypeError(f"expected a number (int or float), got {type(value).__name__}{hint}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("NaN and infinity cannot be part of a key")
        return value

    def to_text(self, value: Any) -> str:
        if type(value) is int and not self.exact:
            # The common case (what the general path below gives for an int, without its
            # checks): keys are built on every write and checked on every decode.
            if not self.spec:
                return str(value)
            width = self._width
            if width is not None and value < 0:
                raise ValueError("negative numbers do not sort as zero-padded text")
            text = format(value, self.spec)
            if width is not None and len(text) > width:
                raise ValueError(f"does not fit in {width} characters")
            return text
        number = self._number(value)
        if number == 0:
            number = 0  # -0.0 would otherwise build another key than 0
        # (A Decimal here passed number_problem: at most 126 digits before the point.)
        if isinstance(number, Decimal):
            integral = number == number.to_integral_value()
        else:
            integral = number == int(number)
        if not self.spec:
            if integral:
                return str(int(number))
            return decimal_text(number) if isinstance(number, Decimal) else repr(number)
        width = self.width
        if width is not None and number < 0:
            raise ValueError("negative numbers do not sort as zero-padded text")
        if not integral:
            raise ValueError(f"format {self.spec!r} needs a whole number")
        text = format(int(number), self.spec)
        if width is not None and len(text) > width:
            raise ValueError(f"does not fit in {width} characters")
        return text

    def from_text(self, text: str) -> Any:
        try:
            number = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"{text!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{text!r} is not a finite number")
        if self.exact:
            return number
        if number == number.to_integral_value() and "." not in text and "e" not in text.lower():
            return int(number)
        return float(number)

    def alphabet(self) -> frozenset[str]:
        """Every character the codec's text can hold."""
        return frozenset("0123456789+-. eE")


_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+0000"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DIGITS = 10  # epoch seconds up to 9999999999 (the year 2286), zero-padded

# Format spec -> what the text keeps, for messages and docs.
DATETIME_FORMATS: dict[str, str] = {
    "": "2024-05-01T09:30:00.000000+0000 (the default: microseconds, UTC offset)",
    "date": "2024-05-01 (midnight UTC only)",
    "seconds": "2024-05-01T09:30:00 (whole seconds, UTC)",
    "secondsZ": "2024-05-01T09:30:00Z (whole seconds, UTC, Z suffix)",
    "epoch": "1714555800 (whole seconds since 1970, ten digits)",
}
_PARSE = {
    "": _DATETIME_FORMAT,
    "date": "%Y-%m-%d",
    "seconds": "%Y-%m-%dT%H:%M:%S",
    "secondsZ": "%Y-%m-%dT%H:%M:%SZ",
}


@attrs.frozen
class DateTimeCodec:
    """Datetimes as fixed-width UTC text (naive datetimes are taken to be UTC).

    Attributes:
        format: ``""`` (ISO-8601 with microseconds and ``+0000``), ``"date"``, ``"seconds"``,
            ``"secondsZ"`` or ``"epoch"`` (see ``DATETIME_FORMATS``). Every format is fixed
            width, so text order is time order; a value the format cannot hold exactly (a
            time under ``"date"``, microseconds under the others) is refused.

    Example:
        >>> DateTimeCodec("secondsZ").to_text(datetime(2018, 1, 8, 10, tzinfo=UTC))
        '2018-01-08T10:00:00Z'
    """

    format: str = ""

    def __attrs_post_init__(self) -> None:
        if self.format not in DATETIME_FORMATS:
            raise ValueError(
                f"datetime fields take the formats {', '.join(map(repr, DATETIME_FORMATS))}; "
                f"got {self.format!r}"
            )

    def to_text(self, value: Any) -> str:
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        zone = value.tzinfo
        if zone is None:
            value = value.replace(tzinfo=UTC)
        elif zone is not UTC:  # (astimezone of a time in UTC is the time itself)
            value = value.astimezone(UTC)
        # What strftime gives, without its cost, and with the year always zero-padded
        # (strftime does not pad years below 1000 on every platform).
        day = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        fmt = self.format
        if not fmt:
            return (
                f"{day}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
                f"{value.microsecond:06d}+0000"
            )
        if fmt == "date":
            if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
                raise ValueError(f"format 'date' holds no time of day (UTC); got {value}")
            return day
        if value.microsecond:
            raise ValueError(f"format {fmt!r} holds whole seconds; got {value}")
        if fmt == "epoch":
            seconds = (value - _EPOCH) // timedelta(seconds=1)
            if not 0 <= seconds < 10**_EPOCH_DIGITS:
                raise ValueError(f"format 'epoch' holds 1970 to 2286; got {value}")
            return f"{seconds:0{_EPOCH_DIGITS}d}"
        text = f"{day}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        return text + "Z" if fmt == "secondsZ" else text

    def from_text(self, text: str) -> Any:
        if self.format == "epoch":
            if len(text) != _EPOCH_DIGITS or not text.isascii() or not text.isdigit():
                raise ValueError(f"{text!r} is not {_EPOCH_DIGITS} digits")
            return _EPOCH + timedelta(seconds=int(text))
        return datetime.strptime(text, _PARSE[self.format]).replace(tzinfo=UTC)

    def alphabet(self) -> frozenset[str]:
        """Every character the codec's text can hold."""
        return frozenset("0123456789-:.+TZ")


CodecResolver = Callable[[str, str], FieldCodec] | None


def default_codec(name: str, spec: str) -> FieldCodec:
    """Numbers for fields with a format spec, text for the others."""
    return NumberCodec(spec) if spec else TextCodec()
