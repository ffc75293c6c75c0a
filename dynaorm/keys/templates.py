"""Key templates: ``"ORDER#{placed_at}#{order_id}"`` built from values and parsed back.

A template is a sequence of literal text and fields. Each field has a codec
(:mod:`dynaorm.keys.codecs`) that renders a Python value as text that sorts like the value
and reads it back. Values may never contain the template delimiter, so a value cannot forge
another entity's key, and every stored key parses back unambiguously.

This module is pure: no I/O and no knowledge of entities beyond the names it is given.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from typing import Any

import attrs

from dynaorm.base.errors import ConfigurationError, ValidationError
from dynaorm.base.limits import PARTITION_KEY_LIMIT, check_text
from dynaorm.keys.codecs import CodecResolver, FieldCodec, NumberCodec, TextCodec, default_codec

__all__ = ["DEFAULT_DELIMITER", "KeyTemplate"]

DEFAULT_DELIMITER = "#"


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
