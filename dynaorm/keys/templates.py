"""Key templates: ``"ORDER#{placed_at}#{order_id}"`` built from values and parsed back.

A template is a sequence of literal text and fields (:mod:`dynaorm.keys.parts`). Each field
has a codec (:mod:`dynaorm.keys.codecs`) that renders a Python value as text that sorts like
the value and reads it back. Two fields are always separated by literal text, and a value may
never contain the delimiter nor run into the text that follows its field, so a value cannot
forge another entity's key, and every stored key parses back unambiguously.

This module is pure: no I/O and no knowledge of entities beyond the names it is given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from dynaorm.base.errors import ConfigurationError, ValidationError
from dynaorm.base.limits import PARTITION_KEY_LIMIT, check_text
from dynaorm.keys.codecs import CodecResolver, FieldCodec, NumberCodec, TextCodec, default_codec
from dynaorm.keys.parts import (
    CasingOption,
    Field,
    Literal,
    Part,
    apply_casing,
    check_casing,
    following_text,
    parse_source,
    runs_into,
    split_text,
    stop_text,
)

__all__ = ["DEFAULT_DELIMITER", "KeyTemplate"]

DEFAULT_DELIMITER = "#"


@attrs.frozen(eq=False)
class KeyTemplate:
    """A parsed key template bound to field codecs.

    Args:
        source: The template text, e.g. ``"ORDER#{placed_at}#{order_id}"``.
        resolve: Gives the codec for a field from its name and format spec; raises
            ``KeyError`` for an unknown name and ``ValueError`` for an unusable spec. By
            default a field with a spec is a number and one without is text.
        delimiter: The one-character separator that values may never contain, or ``None``
            for none (values are then kept only from the literal text after their field).
        owner: Who the template belongs to (``"Order.primary.sk"``), used in error messages.
        max_bytes: The most UTF-8 bytes a built key may take: DynamoDB allows 2,048 for a
            partition key and 1,024 for a sort key.
        casing: ``"lower"``/``"upper"`` normalises literal text and text values, ``"none"``
            keeps them; a mapping normalises only the text fields it names.

    Example:
        >>> t = KeyTemplate("ORDER#{order_id}")
        >>> t.build({"order_id": "o1"})
        'ORDER#o1'
        >>> t.parse("ORDER#o1")
        {'order_id': 'o1'}
        >>> q = KeyTemplate("{year}-Q{quarter}", delimiter=None, casing="lower")
        >>> q.build({"year": "2018", "quarter": "4"})
        '2018-q4'
    """

    source: str
    resolve: CodecResolver = attrs.field(default=None, repr=False)
    delimiter: str | None = DEFAULT_DELIMITER
    owner: str = ""
    max_bytes: int = attrs.field(default=PARTITION_KEY_LIMIT, kw_only=True)
    casing: CasingOption = attrs.field(default="none", kw_only=True)
    parts: tuple[Part, ...] = attrs.field(init=False, repr=False)
    codecs: Mapping[str, FieldCodec] = attrs.field(init=False, repr=False)
    # What build() walks, in template order: (literal, None, None, None, "") for literal text,
    # (None, name, codec, casing function or None, the literal text that ends the value when
    # another field follows) for a field. Read by dynaorm.model.compiled_items.
    steps: tuple[
        tuple[str | None, str | None, FieldCodec | None, Callable[[str], str] | None, str], ...
    ] = attrs.field(init=False, repr=False)
    _format: str | None = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        where = f"{self.owner}: " if self.owner else ""
        check_casing(self.casing, where)
        literal_case = apply_casing(self.casing, None)
        parts = tuple(
            Literal(literal_case(p.text)) if isinstance(p, Literal) else p
            for p in parse_source(self.source)
        )
        object.__setattr__(self, "parts", parts)
        if self.delimiter is not None and len(self.delimiter) != 1:
            # Field values are cut at the delimiter, which is unambiguous only for a
            # one-character delimiter ("a:" + "::" + "b" would read back as "a", ":b").
            raise ConfigurationError(
                f"{where}the key delimiter must be a single character or None, got "
                f"{self.delimiter!r}"
            )
        resolve = self.resolve or default_codec
        codecs: dict[str, FieldCodec] = {}
        previous: Part | None = None
        for part in parts:
            if isinstance(part, Field):
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
                if isinstance(previous, Field):
                    raise ConfigurationError(
                        f"{where}key template {self.source!r}: fields {{{previous.name}}} and "
                        f"{{{part.name}}} must be separated by literal text (such as "
                        f"{self.delimiter or '-'!r}), or the key could not be split again"
                    )
            previous = part
        names = [p.name for p in parts if isinstance(p, Field)]
        if len(names) != len(set(names)):
            raise ConfigurationError(f"{where}key template {self.source!r} repeats a field")
        if isinstance(self.casing, Mapping):
            unknown = sorted(set(self.casing) - set(names))
            if unknown:
                raise ConfigurationError(
                    f"{where}key template {self.source!r}: casing names {', '.join(unknown)}, "
                    "which are not fields of the template"
                )
        object.__setattr__(self, "codecs", codecs)
        steps = tuple(
            (None, p.name, codecs[p.name], self._casing_of(p.name), stop_text(parts, p.name))
            if isinstance(p, Field)
            else (p.text, None, None, None, "")
            for p in parts
        )
        object.__setattr__(self, "steps", steps)
        # str.format gives what build() does for text fields and integer-spec number fields
        # holding ints; a float would raise with a "d" spec, so only such templates use it.
        # Casing changes the text, so a cased template never uses it.
        plain = self.casing == "none" and all(
            type(c) is TextCodec or (type(c) is NumberCodec and c.spec and not c.exact)
            for c in codecs.values()
        )
        object.__setattr__(self, "_format", self.source if plain else None)

    def _casing_of(self, name: str) -> Callable[[str], str] | None:
        # Casing normalises text fields only: numbers and datetimes keep their canonical text.
        if not isinstance(self.codecs[name], TextCodec):
            return None
        case = apply_casing(self.casing, name)
        return None if case is str else case

    def is_cased(self, name: str) -> bool:
        """True when the template changes the case of field ``name``'s text (so the key
        text may not read back as the value it was built from)."""
        return self._casing_of(name) is not None

    def following_text(self, name: str) -> str:
        """The literal text right after field ``name`` (``""`` when the field ends the key).

        Example:
            >>> KeyTemplate("{year}-Q{quarter}").following_text("year")
            '-Q'
        """
        return following_text(self.parts, name)

    def stops_at(self, name: str, char: str) -> bool:
        """True when no value of field ``name`` can contain ``char``: it is the delimiter,
        or the whole text between the field and the next."""
        return char == self.delimiter or char == stop_text(self.parts, name)

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """The field names, in template order."""
        return tuple(p.name for p in self.parts if isinstance(p, Field))

    @property
    def is_constant(self) -> bool:
        """True when the template has no fields (``"PROFILE"``)."""
        return not self.fields

    @property
    def prefix(self) -> str:
        """The constant text before the first field (the whole text for a constant template)."""
        out = []
        for part in self.parts:
            if isinstance(part, Field):
                break
            out.append(part.text)
        return "".join(out)

    def render(self, name: str, value: Any) -> str:
        """Render one field's value as key text (cased as the template says), validating it.

        Raises:
            ValidationError: The value is missing, empty, of the wrong type, not valid
                Unicode, contains the delimiter, or contains (or runs into) the literal text
                between its field and the next.
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
        case = self._casing_of(name)
        if case is not None:
            text = case(text)
        if not text:
            raise ValidationError(f"{where}key template {self.source!r}: {name} must not be empty")
        if self.delimiter is not None and self.delimiter in text:
            raise ValidationError(
                f"{where}key template {self.source!r}: {name}={value!r} contains the key "
                f"delimiter {self.delimiter!r}, which could forge another item's key"
            )
        following = stop_text(self.parts, name)
        if runs_into(text, following):
            raise ValidationError(
                f"{where}key template {self.source!r}: {name}={value!r} contains (or runs "
                f"into) the text {following!r} that follows the field, so the key could not "
                "be split back into its values"
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
        # The fast path: every value renders, none is empty, holds the delimiter or runs into
        # the text after its field, and the whole key encodes within max_bytes. Anything else
        # takes the checked path below, which raises the precise error.
        out: list[str] = []
        delimiter = self.delimiter
        try:
            for literal, name, codec, case, following in self.steps:
                if literal is not None:
                    out.append(literal)
                    continue
                value = values.get(name)  # type: ignore[arg-type]
                if value is None:
                    break
                text = codec.to_text(value)  # type: ignore[union-attr]
                if case is not None:
                    text = case(text)
                if not text or (delimiter is not None and delimiter in text):
                    break
                if following and runs_into(text, following):
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
        the values it accepts, when it has one (uncased text fields and integer-spec number
        fields only: no datetimes, exact numbers, spec-less numbers or casing)."""
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
            if isinstance(part, Field):
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
            if isinstance(part, Field):
                if values.get(part.name) is None:
                    break
                out.append(self.render(part.name, values[part.name]))
            else:
                out.append(part.text)
        return self._fits("".join(out))

    def split(self, text: str) -> dict[str, str] | None:
        """Cut key text into the raw text of each field, or ``None`` when it has another shape
        (see :func:`~dynaorm.keys.parts.split_text`).

        Example:
            >>> KeyTemplate("{year}-Q{quarter}").split("2018-Q4")
            {'year': '2018', 'quarter': '4'}
        """
        return split_text(self.parts, self.delimiter, text)

    def matches(self, text: str) -> bool:
        """True when ``text`` has this template's shape."""
        return self.split(text) is not None

    def parse(self, text: str) -> dict[str, Any]:
        """Read field values back from key text.

        Only the text this template builds is accepted: every field must read exactly as its
        codec writes the value it reads back (``parse`` then ``build`` gives ``text`` again).
        ``"E#1"``, ``"E#1.0"`` or ``"E#00001"`` are refused for ``"E#{seq:04d}"``, which
        builds ``"E#0001"``: an item stored under such a key is not the item the values
        locate. A cased field reads back in its case: ``"new"`` for a lower-cased field.

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
        raw_values = self.split(text)
        if raw_values is None:
            raise ValidationError(f"{text!r} does not match key template {self.source!r}")
        values: dict[str, Any] = {}
        for name, raw in raw_values.items():
            codec = self.codecs[name]
            try:
                value = codec.from_text(raw)
                canonical = codec.to_text(value)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise ValidationError(
                    f"{text!r}: field {name!r} of key template {self.source!r} is unreadable: {exc}"
                ) from None
            case = self._casing_of(name)
            if case is not None:
                canonical = case(canonical)
            if canonical != raw:
                raise ValidationError(
                    f"{text!r}: field {name!r} of key template {self.source!r} reads {raw!r}, "
                    f"which the template never builds (it builds {canonical!r} for that value)"
                )
            values[name] = value
        return values
