"""Whole items encoded by a function compiled for each entity class: the common item in one
straight pass, without walking a plan.

:func:`~dynaorm.model.item_encoding.whole_item` encodes an instance by walking its class's
encode plan attribute by attribute, then each key. For most classes this module also writes
that walk out once as Python source specialised to the class (each attribute's type and
stored name, the entity type, each key template's literal text and fields) and compiles it.
The compiled function handles only what is plainly valid: values of the exact plain types
(``str``, ``int``, finite ``float``, ``bool``, ``bytes``, ``datetime`` in UTC, sets of text,
raw maps and untyped lists of plain values, integer versions), ASCII key texts within their
limits. It returns ``None`` for anything else, and ``whole_item`` then takes the general
path, so an item it does return is
the very item (same members, same order) the general path builds, and every error is the
general path's own (``tests/model/test_compiled_items.py`` checks both by generating
instances).

A class gets no compiled encoder (``None``) when its items need what only the general path
does: a discriminator attribute, dynamic attributes, key shards, non-ASCII attribute names,
or an attribute name written twice (a key attribute that is also a declared attribute).

This module writes the source; the functions that source calls for values (typed form and
size at once) are in :mod:`dynaorm.model.compiled_values`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from dynaorm.base.class_cache import per_class
from dynaorm.keys.codecs import DateTimeCodec, TextCodec
from dynaorm.keys.parts import runs_into
from dynaorm.model.compiled_values import (
    Unsure,
    map_members,
    number_size,
    plain,
    set_members,
    text_size,
    utc_text,
)
from dynaorm.model.dynamic import dynamic_fields
from dynaorm.model.pynamodb_compat import encode_plan

if TYPE_CHECKING:
    from dynaorm.keys.templates import KeyTemplate
    from dynaorm.model.bound_keys import BoundKey
    from dynaorm.model.entity import EntityBase

__all__ = ["ItemEncoder", "item_encoder"]

ItemEncoder = Callable[["EntityBase"], "tuple[dict[str, Any], int] | None"]
"""A compiled encoder: the instance's whole item (attributes, entity type, keys) and its
size, or ``None`` when something in it is not plainly valid."""


class _Source:
    """The lines of a compiled encoder and the objects they name."""

    def __init__(self, parent: _Source | None = None) -> None:
        self.lines: list[str] = []
        # Python name of a datetime attribute -> the variable holding its text, once encoded.
        self.times: dict[str, str] = {} if parent is None else parent.times
        self.names: dict[str, Any] = (
            parent.names
            if parent is not None
            else {
                "Unsure": Unsure,
                "text_size": text_size,
                "number_size": number_size,
                "plain": plain,
                "map_members": map_members,
                "utc_text": utc_text,
                "set_members": set_members,
                "runs_into": runs_into,
                "datetime": datetime,
                "UTC": UTC,
            }
        )

    def name(self, value: Any) -> str:
        """A name the source can use for ``value``."""
        key = f"_c{len(self.names)}"
        self.names[key] = value
        return key

    def add(self, indent: int, *lines: str) -> None:
        self.lines.extend("    " * indent + line for line in lines)


def _attribute_kind(attribute: Attribute[Any]) -> str | None:
    """Which plain encoding the compiled encoder writes out for ``attribute``; ``None``:
    none (the class then gets no compiled encoder)."""
    cls = type(attribute)
    if cls is MapAttribute:
        return "M"
    if cls.serialize is Attribute.serialize and attribute.attr_type == "S":
        return "S"
    if cls.serialize is NumberAttribute.serialize and attribute.attr_type == "N":
        return "N"
    if cls.serialize is VersionAttribute.serialize and attribute.attr_type == "N":
        return "version"
    if (
        cls.serialize is BinaryAttribute.serialize
        and attribute.attr_type == "B"
        and not getattr(attribute, "legacy_encoding", True)
    ):
        return "B"
    if cls.serialize is BooleanAttribute.serialize and attribute.attr_type == "BOOL":
        return "BOOL"
    if cls.serialize is UTCDateTimeAttribute.serialize and attribute.attr_type == "S":
        return "datetime"
    if cls.serialize is UnicodeSetAttribute.serialize and attribute.attr_type == "SS":
        return "SS"
    if cls is ListAttribute and getattr(attribute, "element_type", None) is None:
        return "L"
    return None


def _attribute_lines(
    src: _Source, kind: str, name: str, slot: str | None, physical: str, nullable: bool
) -> None:
    """Lines that add one attribute to ``item`` and its size to ``size`` (``slot``: where
    ``attribute_values`` holds it; ``None``: read through its descriptor, by ``name``)."""
    cost = len(physical)
    read = f"stored.get({slot!r})" if slot is not None else f"getattr(instance, {name!r})"
    src.add(1, f"v = {read}")
    src.add(1, "if v is None:", "    " + ("pass" if nullable else "return None"))
    if kind == "S":
        src.add(1, "elif type(v) is str:")
        src.add(2, f"item[{physical!r}] = {{'S': v}}")
        src.add(2, f"size += {cost} + (len(v) if v.isascii() else text_size(v))")
    elif kind == "N":
        src.add(1, "else:")
        src.add(2, "kind = type(v)")
        src.add(2, "if kind is int:", "    t = int.__repr__(v)")
        src.add(2, "elif kind is float and v - v == 0:", "    t = float.__repr__(v)")
        src.add(2, "else:", "    return None")
        src.add(2, f"item[{physical!r}] = {{'N': t}}", f"size += {cost} + number_size(t)")
        return
    elif kind == "version":
        src.add(1, "elif type(v) is int:")
        src.add(2, "t = int.__repr__(v)")
        src.add(2, f"item[{physical!r}] = {{'N': t}}", f"size += {cost} + number_size(t)")
    elif kind == "B":
        src.add(1, "elif type(v) is bytes:")
        src.add(2, f"item[{physical!r}] = {{'B': v}}", f"size += {cost} + len(v)")
    elif kind == "BOOL":
        src.add(1, "elif type(v) is bool:")
        src.add(2, f"item[{physical!r}] = {{'BOOL': v}}", f"size += {cost + 1}")
    elif kind == "datetime":
        src.add(1, "elif type(v) is datetime and (v.tzinfo is None or v.tzinfo is UTC):")
        # Kept for a key field of the default datetime format, which writes the same text.
        text = "utc_text(v)"
        if slot == name:
            text = src.times[name] = f"time_{len(src.times)}"
            src.add(2, f"{text} = utc_text(v)")
        src.add(2, f"item[{physical!r}] = {{'S': {text}}}", f"size += {cost + 31}")
    elif kind == "SS":
        src.add(1, "elif type(v) is set:")
        src.add(2, "if v:")
        src.add(3, "members, n = set_members(v)")
        src.add(3, f"item[{physical!r}] = {{'SS': members}}", f"size += {cost} + n")
        if not nullable:
            src.add(2, "else:", "    return None")
    elif kind in ("M", "L"):
        source = "map_members(v)" if kind == "M" else "v"
        if kind == "L":
            src.add(1, "elif type(v) is list:")
        else:
            src.add(1, "else:")
        src.add(2, f"typed, n = plain({source}, 0)")
        src.add(2, f"item[{physical!r}] = typed", f"size += {cost} + n")
        if kind == "M":
            return
    src.add(1, "else:", "    return None")


def _template_lines(src: _Source, template: KeyTemplate, out: str) -> bool:
    """Lines that set ``out`` to the text ``template`` builds from ``stored`` (what its
    ``build`` gives when every value is plain), or return ``None``; ``False`` when the
    template cannot be written out (a shard field)."""
    pieces: list[str] = []
    delimiter = template.delimiter
    for position, (literal, name, codec, case, following) in enumerate(template.steps):
        if literal is not None:
            pieces.append(repr(literal))
            continue
        if name is None or codec is None:
            return False
        field = f"{out}_{position}"
        src.add(1, f"{field} = stored.get({name!r})", f"if {field} is None:", "    return None")
        if type(codec) is TextCodec:
            src.add(1, f"if type({field}) is not str:", "    return None")
        elif type(codec) is DateTimeCodec and codec.format == "" and name in src.times:
            # The attribute's own text (encoded above, as this format writes it).
            src.add(1, f"{field} = {src.times[name]}")
        else:
            src.add(1, "try:", f"    {field} = {src.name(codec.to_text)}({field})")
            src.add(1, "except (TypeError, ValueError, ArithmeticError):", "    return None")
        if case is not None:
            src.add(1, f"{field} = {src.name(case)}({field})")
        tests = [f"not {field}", f"not {field}.isascii()"]
        if delimiter is not None:
            tests.append(f"{delimiter!r} in {field}")
        if following:
            tests.append(f"runs_into({field}, {following!r})")
        src.add(1, f"if {' or '.join(tests)}:", "    return None")
        pieces.append(field)
    src.add(1, f"{out} = {' + '.join(pieces) or repr('')}")
    src.add(1, f"if len({out}) > {template.max_bytes}:", "    return None")
    return True


def _key_lines(src: _Source, key: BoundKey[Any], written: set[str]) -> bool:
    """Lines that add ``key``'s attributes, as ``whole_item`` does; ``False`` when the key
    cannot be written out."""
    if key.shards:
        return False
    if key.index is None:
        parts = [(key.pk_attribute, key.pk)] if key.pk_attribute in key.written_attributes else []
        if key.sk is not None and key.sk_attribute is not None:
            parts.append((key.sk_attribute, key.sk))
    else:
        parts = list(key.written_parts)
    for attribute, template in parts:
        if not attribute.isascii() or not all(
            literal is None or literal.isascii() for literal, *_ in template.steps
        ):
            return False
        again = attribute in written
        if again and attribute not in key.shared:
            return False
        written.add(attribute)
        # The primary key is always written; an index key's attribute only when every field
        # of the key is set (a sparse index), or, shared with another index key, when the
        # fields of its own template are (the other key then writes the same text).
        fields = (
            ()
            if key.index is None
            else (template.fields if attribute in key.shared else key.fields)
        )
        body = _Source(src)
        if not _template_lines(body, template, "t"):
            return False
        body.add(1, f"item[{attribute!r}] = {{'S': t}}")
        if not again:
            body.add(1, f"size += {len(attribute)} + len(t)")
        if not fields:
            src.lines.extend(body.lines)
            continue
        tests = " and ".join(f"stored.get({n!r}) is not None" for n in fields)
        src.add(1, f"if {tests}:")
        src.lines.extend("    " + line for line in body.lines)
    return True


def _compile(cls: type[EntityBase]) -> ItemEncoder | None:
    steps = encode_plan(cls)
    if steps is None or dynamic_fields(cls):
        return None
    src = _Source()
    written: set[str] = set()
    src.add(0, "def encode(instance):")
    src.add(1, "stored = instance.attribute_values", "item = {}", "size = 0")
    for name, physical, attribute, slot, _container, nullable, _serialize in steps:
        kind = _attribute_kind(attribute)
        if kind is None or physical in written or not physical.isascii():
            return None
        written.add(physical)
        _attribute_lines(src, kind, name, slot, physical, nullable)
    table = cls.__table__
    if table.store_type:
        name, text = table.type_attribute, cls.__type_name__
        if name in written or not (name.isascii() and text.isascii()):
            return None
        written.add(name)
        src.add(1, f"item[{name!r}] = {{'S': {text!r}}}", f"size += {len(name) + len(text)}")
    for key in cls.__keys__.values():
        if not _key_lines(src, key, written):
            return None
    src.add(1, "return item, size")
    lines = ["def make():", *("    " + line for line in src.lines), "    return encode"]
    namespace = dict(src.names)
    code = "\n".join(lines)
    exec(compile(code, f"<dynaorm item encoder of {cls.__qualname__}>", "exec"), namespace)
    made: Callable[[], Callable[[EntityBase], tuple[dict[str, Any], int] | None]]
    made = namespace["make"]
    encode = made()

    def encoder(instance: EntityBase) -> tuple[dict[str, Any], int] | None:
        try:
            return encode(instance)
        except (Unsure, RecursionError, NameError):
            return None

    encoder.source = code  # type: ignore[attr-defined]
    return encoder


def item_encoder(cls: type[EntityBase]) -> ItemEncoder | None:
    """The compiled encoder of ``cls`` (made on first use), ``None`` when it has none."""
    return per_class(cls, "_dynaorm_item_encoder", _compile)
