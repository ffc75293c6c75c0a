"""The source of a key template: its parts (literal text and fields), its casing, and the
:class:`Template` object that carries a template's own delimiter and casing.

This module is pure: it reads template text, nothing else. :mod:`dynaorm.keys.templates`
compiles the parts with codecs; :mod:`dynaorm.keys.ranges`, :mod:`dynaorm.keys.collisions`
and the layout tools read them through the names exported here.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Callable, Mapping
from typing import Literal as TypingLiteral

import attrs

from dynaorm.base.errors import ConfigurationError

__all__ = [
    "CASINGS",
    "Casing",
    "CasingOption",
    "Field",
    "FromTable",
    "Literal",
    "Part",
    "Template",
    "apply_casing",
    "check_casing",
    "following_text",
    "parse_source",
    "runs_into",
    "split_text",
    "stop_text",
]

Casing = TypingLiteral["lower", "upper", "none"]
# A casing for the whole template (literal text and text fields), or per text field.
CasingOption = Casing | Mapping[str, Casing]
CASINGS: Mapping[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "none": str,
}


class FromTable(enum.Enum):
    """The default delimiter of a :class:`Template` or ``Key``: the table's."""

    DELIMITER = "the table's delimiter"


@attrs.frozen
class Literal:
    """Constant text of a template."""

    text: str


@attrs.frozen
class Field:
    """A ``{name:spec}`` field of a template."""

    name: str
    spec: str


Part = Literal | Field


def parse_source(source: str) -> tuple[Part, ...]:
    """Split template text into literal text and fields.

    Raises:
        ConfigurationError: The text is not a valid template (unbalanced braces, a field
            that is not a plain attribute name).

    Example:
        >>> parse_source("ORDER#{seq:08d}")
        (Literal(text='ORDER#'), Field(name='seq', spec='08d'))
    """
    parts: list[Part] = []
    try:
        parsed = list(string.Formatter().parse(source))
    except ValueError as exc:
        raise ConfigurationError(f"key template {source!r} is malformed: {exc}") from None
    for literal, name, spec, conversion in parsed:
        if literal:
            parts.append(Literal(literal))
        if name is None:
            continue
        if not name.isidentifier() or conversion:
            raise ConfigurationError(
                f"key template {source!r}: field {{{name}}} must be a plain attribute name"
            )
        parts.append(Field(name, spec or ""))
    return tuple(parts)


def following_text(parts: tuple[Part, ...], name: str) -> str:
    """The literal text right after field ``name`` (``""`` when the field ends the key).

    Raises:
        KeyError: ``name`` is not a field of ``parts``.
    """
    for position, part in enumerate(parts):
        if isinstance(part, Field) and part.name == name:
            following = parts[position + 1] if position + 1 < len(parts) else None
            return following.text if isinstance(following, Literal) else ""
    raise KeyError(name)


def stop_text(parts: tuple[Part, ...], name: str) -> str:
    """The literal text that ends field ``name``'s value when another field follows it
    (``""`` when no field follows: the value then runs to the end, or to the trailing text).

    Raises:
        KeyError: ``name`` is not a field of ``parts``.
    """
    for position, part in enumerate(parts):
        if isinstance(part, Field) and part.name == name:
            rest = parts[position + 1 :]
            if len(rest) > 1 and isinstance(rest[0], Literal):
                return rest[0].text
            return ""
    raise KeyError(name)


def runs_into(text: str, following: str) -> bool:
    """True when ``text`` followed by ``following`` shows ``following`` before its place, so
    the split after ``text`` could not be found again (``"xa"`` before ``"aa"``)."""
    return bool(following) and (text + following).find(following) != len(text)


def split_text(parts: tuple[Part, ...], delimiter: str | None, text: str) -> dict[str, str] | None:
    """Cut key text into the raw text of each field, or ``None`` when it has another shape.

    Each field's text ends at the first occurrence of the literal text that follows it (the
    values a template builds never hold it earlier), the last field's at the trailing text or
    the end; a field's text is never empty nor holds the delimiter.
    """
    raw: dict[str, str] = {}
    position = 0
    for index, part in enumerate(parts):
        if isinstance(part, Literal):
            if not text.startswith(part.text, position):
                return None
            position += len(part.text)
            continue
        rest = parts[index + 1 :]
        after = rest[0].text if rest and isinstance(rest[0], Literal) else ""
        if not rest:
            end = len(text)
        elif len(rest) == 1:  # trailing text: the value runs up to it
            end = len(text) - len(after) if text.endswith(after) else -1
        else:
            end = text.find(after, position)
        if end <= position:
            return None
        piece = text[position:end]
        if delimiter is not None and delimiter in piece:
            return None
        raw[part.name] = piece
        position = end
    return raw if position == len(text) else None


def check_casing(casing: object, where: str) -> None:
    """Refuse a casing option other than ``"lower"``, ``"upper"``, ``"none"`` or a mapping
    of field names to them.

    Raises:
        ConfigurationError: The option is not one of those.
    """
    values = casing.values() if isinstance(casing, Mapping) else [casing]
    for value in values:
        if value not in CASINGS:
            raise ConfigurationError(
                f"{where}casing must be 'lower', 'upper' or 'none' (or a mapping of text "
                f"fields to them), got {value!r}"
            )


def apply_casing(casing: CasingOption, field: str | None) -> Callable[[str], str]:
    """The function normalising a field's text (``field=None``: the literal text).

    A whole-template casing applies to literal text and to every field; a mapping applies to
    the fields it names only.
    """
    if isinstance(casing, Mapping):
        if field is None:
            return CASINGS["none"]
        return CASINGS[casing.get(field, "none")]
    return CASINGS[casing]


@attrs.frozen
class Template:
    """A key template with its own delimiter and casing, accepted wherever ``Key`` takes a
    template string.

    Args:
        source: The template text, e.g. ``"{year}-Q{quarter}"``.
        delimiter: The one character values may never contain; ``None`` for none (values
            are then kept only from the literal text that follows them). By default the
            ``Key``'s, which by default is the table's.
        casing: ``"lower"`` or ``"upper"`` normalises the literal text and every text value
            (``"none"``, the default, keeps them as they are); a mapping such as
            ``{"status": "upper"}`` normalises only the text fields it names. By default the
            ``Key``'s.

    Example:
        >>> Template("{year}-Q{quarter}", delimiter=None)
        Template(source='{year}-Q{quarter}', delimiter=None, casing=None)
    """

    source: str
    delimiter: str | FromTable | None = attrs.field(
        default=FromTable.DELIMITER, kw_only=True, repr=lambda d: repr(getattr(d, "value", d))
    )
    casing: CasingOption | None = attrs.field(default=None, kw_only=True)
