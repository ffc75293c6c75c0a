"""Key templates: ``"ORDER#{placed_at}#{order_id}"`` built from values and parsed back.

A template is a sequence of literal text and fields. Each field has a codec that renders a
Python value as text that sorts like the value (zero-padded numbers, fixed-width UTC
datetimes) and reads it back. Values may never contain the template delimiter, so a value
cannot forge another entity's key, and every stored key parses back unambiguously.

This module is pure: no I/O and no knowledge of entities beyond the names it is given.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import attrs

from dynaorm.base.errors import ConfigurationError, ValidationError
from dynaorm.base.limits import PARTITION_KEY_LIMIT, check_text, decimal_text, number_problem

__all__ = [
    "DateTimeCodec",
    "FieldCodec",
    "KeyTemplate",
    "NumberCodec",
    "TextCodec",
    "templates_may_collide",
]

DEFAULT_DELIMITER = "#"


class FieldCodec(Protocol):
    """Turns one field value into key text and back."""

    def to_text(self, value: Any) -> str:
        """Render ``value``; raise ``TypeError``/``ValueError`` when it cannot be rendered."""

    def from_text(self, text: str) -> Any:
        """Read back a value rendered by :meth:`to_text`."""


@attrs.frozen
class TextCodec:
    """Strings, stored as they are."""

    def to_text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected str, got {type(value).__name__}")
        return value

    def from_text(self, text: str) -> Any:
        return text


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


_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+0000"


@attrs.frozen
class DateTimeCodec:
    """Datetimes as fixed-width UTC ISO-8601 text (naive datetimes are taken to be UTC)."""

    def to_text(self, value: Any) -> str:
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # What strftime(_DATETIME_FORMAT) gives, without its cost, and with the year always
        # zero-padded (strftime does not pad years below 1000 on every platform).
        return (
            f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
            f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}+0000"
        )

    def from_text(self, text: str) -> Any:
        return datetime.strptime(text, _DATETIME_FORMAT).replace(tzinfo=UTC)


CodecResolver = Callable[[str, str], FieldCodec] | None


def default_codec(name: str, spec: str) -> FieldCodec:
    """Numbers for fields with a format spec, text for the others."""
    return NumberCodec(spec) if spec else TextCodec()


@attrs.frozen
class _Literal:
    text: str


@attrs.frozen
class _Field:
    name: str
    spec: str


_Part = _Literal | _Field


def _parse_source(source: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    try:
        parsed = list(string.Formatter().parse(source))
    except ValueError as exc:
        raise ConfigurationError(f"key template {source!r} is malformed: {exc}") from None
    for literal, name, spec, conversion in parsed:
        if literal:
            parts.append(_Literal(literal))
        if name is None:
            continue
        if not name.isidentifier() or conversion:
            raise ConfigurationError(
                f"key template {source!r}: field {{{name}}} must be a plain attribute name"
            )
        parts.append(_Field(name, spec or ""))
    return tuple(parts)


@attrs.frozen(eq=False)
class KeyTemplate:
    """A parsed key template bound to field codecs.

    Args:
        source: The template text, e.g. ``"ORDER#{placed_at}#{order_id}"``.
        resolve: Gives the codec for a field from its name and format spec; raises
            ``KeyError`` for an unknown name and ``ValueError`` for an unusable spec. By
            default a field with a spec is a number and one without is text.
        delimiter: The one-character separator that values may never contain.
        owner: Who the template belongs to (``"Order.primary.sk"``), used in error messages.
        max_bytes: The most UTF-8 bytes a built key may take: DynamoDB allows 2,048 for a
            partition key and 1,024 for a sort key.

    Example:
        >>> t = KeyTemplate("ORDER#{order_id}")
        >>> t.build({"order_id": "o1"})
        'ORDER#o1'
        >>> t.parse("ORDER#o1")
        {'order_id': 'o1'}
    """

    source: str
    resolve: CodecResolver = attrs.field(default=None, repr=False)
    delimiter: str = DEFAULT_DELIMITER
    owner: str = ""
    max_bytes: int = attrs.field(default=PARTITION_KEY_LIMIT, kw_only=True)
    parts: tuple[_Part, ...] = attrs.field(init=False, repr=False)
    codecs: Mapping[str, FieldCodec] = attrs.field(init=False, repr=False)
    _regex: re.Pattern[str] = attrs.field(init=False, repr=False)
    # (literal, None, None) or (None, field name, codec), in template order: what build() walks.
    _steps: tuple[tuple[str | None, str | None, FieldCodec | None], ...] = attrs.field(
        init=False, repr=False
    )
    _format: str | None = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        parts = _parse_source(self.source)
        object.__setattr__(self, "parts", parts)
        where = f"{self.owner}: " if self.owner else ""
        if len(self.delimiter) != 1:
            # Field values are matched as runs of non-delimiter characters, which is unambiguous
            # only for a one-character delimiter ("a:" + "::" + "b" would read back as "a", ":b").
            raise ConfigurationError(
                f"{where}the key delimiter must be a single character, got {self.delimiter!r}"
            )
        resolve = self.resolve or default_codec
        codecs: dict[str, FieldCodec] = {}
        previous: _Part | None = None
        for part in parts:
            if isinstance(part, _Field):
                try:
                    codecs[part.name] = resolve(part.name, part.spec)
                except KeyError:
                    raise ConfigurationError(
                        f"{where}key template {self.source!r} names {{{part.name}}}, "
                        "which is not an attribute of the entity"
                    ) from None
                except ValueError as exc:
                    raise ConfigurationError(
                        f"{where}key template {self.source!r}, field {{{part.name}}}: {exc}"
                    ) from None
                if isinstance(previous, _Field):
                    raise ConfigurationError(
                        f"{where}key template {self.source!r}: fields {{{previous.name}}} and "
                        f"{{{part.name}}} must be separated by {self.delimiter!r}"
                    )
            elif (
                isinstance(previous, _Field)
                and self._followed_by_field(part)
                and self.delimiter not in part.text
            ):
                raise ConfigurationError(
                    f"{where}key template {self.source!r}: the text {part.text!r} between "
                    f"fields must contain the delimiter {self.delimiter!r}"
                )
            previous = part
        names = [p.name for p in parts if isinstance(p, _Field)]
        if len(names) != len(set(names)):
            raise ConfigurationError(f"{where}key template {self.source!r} repeats a field")
        object.__setattr__(self, "codecs", codecs)
        object.__setattr__(self, "_regex", re.compile(self._pattern()))
        steps = tuple(
            (None, p.name, codecs[p.name]) if isinstance(p, _Field) else (p.text, None, None)
            for p in parts
        )
        object.__setattr__(self, "_steps", steps)
        # str.format gives what build() does for text fields and integer-spec number fields
        # holding ints; a float would raise with a "d" spec, so only such templates use it.
        plain = all(
            type(c) is TextCodec or (type(c) is NumberCodec and c.spec and not c.exact)
            for c in codecs.values()
        )
        object.__setattr__(self, "_format", self.source if plain else None)

    def _followed_by_field(self, literal: _Literal) -> bool:
        index = self.parts.index(literal)
        return index + 1 < len(self.parts) and isinstance(self.parts[index + 1], _Field)

    def _pattern(self) -> str:
        value = f"[^{re.escape(self.delimiter[0])}]+"
        pieces = [
            f"(?P<{p.name}>{value})" if isinstance(p, _Field) else re.escape(p.text)
            for p in self.parts
        ]
        return "".join(pieces)

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """The field names, in template order."""
        return tuple(p.name for p in self.parts if isinstance(p, _Field))

    @property
    def is_constant(self) -> bool:
        """True when the template has no fields (``"PROFILE"``)."""
        return not self.fields

    @property
    def prefix(self) -> str:
        """The constant text before the first field (the whole text for a constant template)."""
        out = []
        for part in self.parts:
            if isinstance(part, _Field):
                break
            out.append(part.text)
        return "".join(out)

    def render(self, name: str, value: Any) -> str:
        """Render one field's value as key text, validating it.

        Raises:
            ValidationError: The value is missing, empty, of the wrong type, not valid
                Unicode, or contains the delimiter.
        """
        where = f"{self.owner} " if self.owner else ""
        if value is None:
            raise ValidationError(f"{where}key template {self.source!r} needs a value for {name!r}")
        try:
            text = self.codecs[name].to_text(value)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValidationError(
                f"{where}key template {self.source!r}: {name}={value!r} cannot be used: {exc}"
            ) from None
        if not text:
            raise ValidationError(f"{where}key template {self.source!r}: {name} must not be empty")
        if self.delimiter in text:
            raise ValidationError(
                f"{where}key template {self.source!r}: {name}={value!r} contains the key "
                f"delimiter {self.delimiter!r}, which could forge another item's key"
            )
        check_text(text, what=f"{where}key template {self.source!r}: {name}")
        return text

    def _fits(self, text: str) -> str:
        size = len(text.encode("utf-8"))
        if size > self.max_bytes:
            where = f"{self.owner} " if self.owner else ""
            raise ValidationError(
                f"{where}key template {self.source!r} builds a key of {size:,} bytes; DynamoDB "
                f"allows {self.max_bytes:,} (UTF-8) here. Shorten "
                f"{', '.join(self.fields) or 'the template'}"
            )
        return text

    def build(self, values: Mapping[str, Any]) -> str:
        """Build the key text from field values.

        Raises:
            ValidationError: A field is missing or its value cannot be used in a key, or the
                key would be longer than ``max_bytes``.
        """
        # The fast path: every value renders, none is empty or holds the delimiter, and the
        # whole key encodes within max_bytes. Anything else takes the checked path below,
        # which raises the precise error.
        out: list[str] = []
        delimiter = self.delimiter
        try:
            for literal, name, codec in self._steps:
                if literal is not None:
                    out.append(literal)
                    continue
                value = values.get(name)  # type: ignore[arg-type]
                if value is None:
                    break
                text = codec.to_text(value)  # type: ignore[union-attr]
                if not text or delimiter in text:
                    break
                out.append(text)
            else:
                key = "".join(out)
                # (Encoding also refuses lone surrogates, which the checked path names.)
                if len(key.encode("utf-8")) <= self.max_bytes:
                    return key
        except (TypeError, ValueError, ArithmeticError):
            pass
        return self._build_checked(values)

    @property
    def format_string(self) -> str | None:
        """The template as a ``str.format`` string that gives what :meth:`build` does for
        the values it accepts, when it has one (text fields and integer-spec number fields
        only: no datetimes, exact numbers or spec-less numbers)."""
        return self._format

    def built(self, values: Mapping[str, Any], text: str) -> bool:
        """True when ``text`` is the key these values build (a decoded item's check that it
        is stored under its own key); ``False`` when it is another text or none can be built.

        Values ``build`` refuses (a delimiter in a text value, a number too wide for its
        padding) may give ``True`` when their formatted text is ``text``: no key can be built
        from them, so they locate no other item.
        """
        fmt = self._format
        if fmt is not None:
            try:
                if fmt.format_map(values) == text:
                    return True
            except (LookupError, TypeError, ValueError, AttributeError):
                pass
        try:
            return self.build(values) == text
        except (ValidationError, AttributeError):
            return False

    def _build_checked(self, values: Mapping[str, Any]) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, _Field):
                out.append(self.render(part.name, values.get(part.name)))
            else:
                out.append(part.text)
        return self._fits("".join(out))

    def build_prefix(self, values: Mapping[str, Any]) -> str:
        """Build the longest prefix the leading given values determine.

        Stops at the first field without a value, keeping the literal text before it, so the
        result suits ``begins_with``. ``"ORDER#{day}#{id}"`` with only ``day`` gives
        ``"ORDER#2024-05-01#"``.
        """
        out = []
        for part in self.parts:
            if isinstance(part, _Field):
                if values.get(part.name) is None:
                    break
                out.append(self.render(part.name, values[part.name]))
            else:
                out.append(part.text)
        return self._fits("".join(out))

    def matches(self, text: str) -> bool:
        """True when ``text`` has this template's shape."""
        return self._regex.fullmatch(text) is not None

    def parse(self, text: str) -> dict[str, Any]:
        """Read field values back from key text.

        Only the text this template builds is accepted: every field must read exactly as its
        codec writes the value it reads back (``parse`` then ``build`` gives ``text`` again).
        ``"E#1"``, ``"E#1.0"`` or ``"E#00001"`` are refused for ``"E#{seq:04d}"``, which
        builds ``"E#0001"``: an item stored under such a key is not the item the values
        locate.

        Raises:
            ValidationError: ``text`` was not produced by this template.

        Example:
            >>> t = KeyTemplate("E#{seq:04d}")
            >>> t.parse("E#0001")
            {'seq': 1}
            >>> try:
            ...     t.parse("E#1")
            ... except ValidationError as exc:
            ...     print("refused:", str(exc).split(", ")[-1])
            refused: which the template never builds (it builds '0001' for that value)
        """
        match = self._regex.fullmatch(text)
        if match is None:
            raise ValidationError(f"{text!r} does not match key template {self.source!r}")
        values: dict[str, Any] = {}
        for name, raw in match.groupdict().items():
            codec = self.codecs[name]
            try:
                value = codec.from_text(raw)
                canonical = codec.to_text(value)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise ValidationError(
                    f"{text!r}: field {name!r} of key template {self.source!r} is unreadable: {exc}"
                ) from None
            if canonical != raw:
                raise ValidationError(
                    f"{text!r}: field {name!r} of key template {self.source!r} reads {raw!r}, "
                    f"which the template never builds (it builds {canonical!r} for that value)"
                )
            values[name] = value
        return values


def _segments(template: KeyTemplate) -> list[tuple[_Part, ...]]:
    """Split a template at the delimiter; a field never spans two segments."""
    segments: list[list[_Part]] = [[]]
    for part in template.parts:
        if isinstance(part, _Field):
            segments[-1].append(part)
            continue
        pieces = part.text.split(template.delimiter)
        for i, piece in enumerate(pieces):
            if i:
                segments.append([])
            if piece:
                segments[-1].append(_Literal(piece))
    return [tuple(s) for s in segments]


def _segment_regex(segment: tuple[_Part, ...]) -> str:
    return "".join(".+" if isinstance(p, _Field) else re.escape(p.text) for p in segment)


def _ends(segment: tuple[_Part, ...]) -> tuple[str, str]:
    head = segment[0].text if isinstance(segment[0], _Literal) else ""
    tail = segment[-1].text if isinstance(segment[-1], _Literal) else ""
    return head, tail


def _segments_may_match(a: tuple[_Part, ...], b: tuple[_Part, ...]) -> bool:
    a_const = all(isinstance(p, _Literal) for p in a)
    b_const = all(isinstance(p, _Literal) for p in b)
    if a_const and b_const:
        return "".join(p.text for p in a if isinstance(p, _Literal)) == "".join(
            p.text for p in b if isinstance(p, _Literal)
        )
    if a_const or b_const:
        const, pattern = (a, b) if a_const else (b, a)
        text = "".join(p.text for p in const if isinstance(p, _Literal))
        return re.fullmatch(_segment_regex(pattern), text) is not None
    (a_head, a_tail), (b_head, b_tail) = _ends(a), _ends(b)
    heads_agree = a_head.startswith(b_head) or b_head.startswith(a_head)
    tails_agree = a_tail.endswith(b_tail) or b_tail.endswith(a_tail)
    return heads_agree and tails_agree


def templates_may_collide(a: KeyTemplate, b: KeyTemplate) -> bool:
    """True when some values could make ``a`` and ``b`` build the same text.

    Conservative: it may report a collision for exotic templates that cannot really produce
    the same text, never the reverse.
    """
    if a.delimiter != b.delimiter:
        return True
    seg_a, seg_b = _segments(a), _segments(b)
    if len(seg_a) != len(seg_b):
        return False
    return all(_segments_may_match(x, y) for x, y in zip(seg_a, seg_b, strict=True))
