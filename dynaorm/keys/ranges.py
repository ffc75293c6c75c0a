"""Sort-key ranges: conditions on a sort template's fields, compiled to one key condition.

A sort template such as ``"ORDER#{placed_at}#{order_id}"`` stores several fields in one
physical key. A query may fix leading fields by equality and put one range on the next field::

    .range(Order.placed_at >= t)            # SK BETWEEN "ORDER#<t>#" AND "ORDER$"
    .range(Order.placed_at == t)            # SK BETWEEN "ORDER#<t>#" AND "ORDER#<t>#o5",
    .range(Order.order_id < "o5")           #   and a filter order_id <> "o5"

**Semantics.** A range compares the field's key text the way DynamoDB orders the keys, that
is, in the order a query returns the items: the text ``w`` of an item's field followed by the
first character of what follows the field in the template (the delimiter, or nothing when the
field ends the key) is compared with the same for the operand. For datetimes, zero-padded
numbers, and text without characters that sort below the delimiter (for ``#``: space, ``!``,
``"`` and control characters) this is simply the attribute's own order. Ranges need the field
to be followed by a character its values cannot hold (the delimiter, or a one-character
literal such as the ``-`` of ``"{year}-{month}"``) or to end the key, and ordering operators
need a codec whose text sorts like its values (text, datetimes, zero-padded numbers such as
``{seq:08d}``).

**Bounds.** DynamoDB takes one sort-key condition, so a range inside the template's constant
prefix becomes ``BETWEEN``. Each bound is chosen so that it never equals a key this template
can build: ``<= r`` on a field followed by the delimiter ``#`` ends at ``prefix + r + "$"``
(``$`` being the character after ``#``), taking in every longer key of the group ``r``; ``> r``
starts there, excluding them; the prefix itself ends at its successor (``"ORDER#"`` ->
``"ORDER$"``). Only a strict comparison on a field that ends the key cannot be bounded that
way inside a prefix; it compiles to the inclusive range plus ``exclude``, a filter that drops
the one boundary value. A bound may equal a key of *another* template; the entity-type filter
every entity query carries drops such items.

This module is pure: no I/O, no entities; it is given templates and attribute maps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import And, BeginsWith, Between, Comparison, Condition
from pynamodb.expressions.operand import Path, Value

from dynaorm.base.errors import ValidationError
from dynaorm.expressions.typed_values import decode_value
from dynaorm.keys.codecs import DateTimeCodec, FieldCodec, NumberCodec, TextCodec
from dynaorm.keys.templates import KeyTemplate

__all__ = ["FieldBound", "KeyRange", "SortKeyCondition", "compile_range", "split_range"]

_ORDERING = frozenset({"<", "<=", ">", ">=", "BETWEEN"})
_ZERO_PADDED = re.compile(r"0\d+(d|\.\d+f)")
_MAX_CODE_POINT = 0x10FFFF


@attrs.frozen
class SortKeyCondition:
    """One DynamoDB sort-key condition over key text.

    Attributes:
        operator: ``=``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN`` or ``begins_with``.
        values: The operand texts (two for ``BETWEEN``).
    """

    operator: str
    values: tuple[str, ...]

    def matches(self, key: str) -> bool:
        """Evaluate the condition as DynamoDB does on string keys (UTF-8 byte order, which is
        code-point order)."""
        first = self.values[0]
        if self.operator == "=":
            return key == first
        if self.operator == "<":
            return key < first
        if self.operator == "<=":
            return key <= first
        if self.operator == ">":
            return key > first
        if self.operator == ">=":
            return key >= first
        if self.operator == "BETWEEN":
            return first <= key <= self.values[1]
        return key.startswith(first)


@attrs.frozen
class KeyRange:
    """A compiled sort-key restriction.

    Attributes:
        condition: The key condition, ``None`` when the whole partition qualifies.
        exclude: ``(field, value)`` when items whose field equals ``value`` must also be
            filtered out (a strict comparison on a field that ends the key).
    """

    condition: SortKeyCondition | None
    exclude: tuple[str, Any] | None = None


@attrs.frozen
class FieldBound:
    """A range operator on one template field, with its (Python) operand values."""

    field: str
    operator: str
    values: tuple[Any, ...]


def _next_char(char: str) -> str | None:
    code = ord(char) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates are not characters DynamoDB can store
        code = 0xE000
    return chr(code) if code <= _MAX_CODE_POINT else None


def successor(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (``None``: none)."""
    while prefix:
        following = _next_char(prefix[-1])
        if following is not None:
            return prefix[:-1] + following
        prefix = prefix[:-1]
    return None


def _sorts_like_values(codec: FieldCodec) -> bool:
    if isinstance(codec, TextCodec | DateTimeCodec):
        return True
    if isinstance(codec, NumberCodec):
        return _ZERO_PADDED.fullmatch(codec.spec) is not None
    return False


def compile_range(
    template: KeyTemplate,
    equal: Mapping[str, Any],
    bound: FieldBound | None = None,
    *,
    owner: str = "",
) -> KeyRange:
    """Compile equalities on leading fields and an optional range on the next field.

    Args:
        template: The sort-key template.
        equal: Field -> value for the leading fields fixed by equality (in template order).
        bound: A range on the field right after them.
        owner: Who asks, for messages (``"Order.primary"``).

    Returns:
        The key condition (``begins_with`` on the template's constant prefix when nothing is
        fixed) and, for strict comparisons on a field that ends the key, the value to exclude.

    Raises:
        ValidationError: The fields are not leading fields in order, an operand cannot be
            rendered, the operator does not suit the field, or ``between`` runs backwards.

    Example:
        >>> t = KeyTemplate("ORDER#{day}#{id}")
        >>> compile_range(t, {}, FieldBound("day", "<=", ("2024-05-01",))).condition
        SortKeyCondition(operator='BETWEEN', values=('ORDER#', 'ORDER#2024-05-01$'))
    """
    fields = template.fields
    where = f"{owner}: " if owner else ""
    fixed = len(equal)
    if set(equal) != set(fields[:fixed]):
        raise ValidationError(
            f"{where}equality conditions must fix leading fields of sort key "
            f"{template.source!r} in order ({', '.join(fields) or 'it has none'}); "
            f"got {', '.join(sorted(equal))}"
        )
    prefix = template.build_prefix(equal) if fixed else template.prefix
    if fixed == len(fields):
        if bound is not None:
            raise ValidationError(f"{where}sort key {template.source!r} is already fully fixed")
        return KeyRange(SortKeyCondition("=", (prefix,)))
    if bound is None:
        return KeyRange(SortKeyCondition("begins_with", (prefix,)) if prefix else None)
    if bound.field != fields[fixed]:
        raise ValidationError(
            f"{where}a range on {bound.field!r} needs equality on the fields before it in sort "
            f"key {template.source!r}; the next field that can take a range is {fields[fixed]!r}"
        )
    return _bounded(template, prefix, bound, closed=fixed == len(fields) - 1, where=where)


def _bounded(
    template: KeyTemplate, prefix: str, bound: FieldBound, *, closed: bool, where: str
) -> KeyRange:
    following = template.following_text(bound.field)
    tail = following[:1]
    operator = bound.operator
    if operator != "begins_with" and following and not template.stops_at(bound.field, tail):
        stop = f"the delimiter {template.delimiter!r}" if template.delimiter else "a delimiter"
        raise ValidationError(
            f"{where}sort key {template.source!r}: a range on {bound.field!r} needs the field "
            f"to be followed by {stop}, by a single character its values cannot hold, or to "
            "end the key"
        )
    codec = template.codecs[bound.field]
    if operator in _ORDERING and not _sorts_like_values(codec):
        raise ValidationError(
            f"{where}{bound.field!r} in sort key {template.source!r} does not sort like its "
            "values; give numbers a zero-padded format such as {seq:08d} to range over them"
        )
    if operator == "begins_with" and not isinstance(codec, TextCodec):
        raise ValidationError(f"{where}begins_with needs a text field; {bound.field!r} is not")
    texts = [template.render(bound.field, value) for value in bound.values]
    after = (_next_char(tail) or "") if tail else ""
    # The bound just below / above every key of the group with field text ``r``.
    high_tail = after if following else ""

    lower: tuple[str, bool] | None = None  # (text, inclusive)
    upper: tuple[str, bool] | None = None
    if operator == "begins_with":
        start = texts[0]
        # A key of a shorter value followed by the field's text could start with the operand
        # ("20" + "-Q4" starts with "20-"): refuse operands ending with the start of that text.
        if any(following.startswith(start[i:]) for i in range(len(start))):
            raise ValidationError(
                f"{where}startswith({bound.values[0]!r}) on {bound.field!r} in sort key "
                f"{template.source!r} ends with the start of the text {following!r} after the "
                "field, so it would also match keys of shorter values"
            )
        return KeyRange(SortKeyCondition("begins_with", (prefix + start,)))
    if operator == ">=":
        lower = (prefix + texts[0] + tail, True)
    elif operator == ">":
        lower = (prefix + texts[0] + after, True) if following else (prefix + texts[0], False)
    elif operator == "<=":
        upper = (prefix + texts[0] + high_tail, True)
    elif operator == "<":
        if following and not (closed and following == tail):
            upper = (prefix + texts[0] + tail, True)
        else:  # the probe is itself a key of this template: the group's only key
            upper = (prefix + texts[0] + following, False)
    elif operator == "BETWEEN":
        lower = (prefix + texts[0] + tail, True)
        upper = (prefix + texts[1] + high_tail, True)
        if lower[0] > upper[0]:
            raise ValidationError(
                f"{where}between({bound.values[0]!r}, {bound.values[1]!r}) on {bound.field!r}: "
                "the lower bound sorts after the upper bound in the key"
            )
    else:
        raise ValidationError(f"{where}unsupported sort-key operator {operator!r}")
    return _assemble(prefix, lower, upper, bound)


def _assemble(
    prefix: str,
    lower: tuple[str, bool] | None,
    upper: tuple[str, bool] | None,
    bound: FieldBound,
) -> KeyRange:
    if prefix:
        lower = lower or (prefix, True)
        end = successor(prefix)
        if upper is None and end is not None:
            upper = (end, True)
    exclude = (bound.field, bound.values[0])
    if lower is not None and upper is not None:
        strict = not (lower[1] and upper[1])
        return KeyRange(
            SortKeyCondition("BETWEEN", (lower[0], upper[0])), exclude if strict else None
        )
    if lower is not None:
        return KeyRange(SortKeyCondition(">=" if lower[1] else ">", (lower[0],)))
    assert upper is not None
    return KeyRange(SortKeyCondition("<=" if upper[1] else "<", (upper[0],)))


# -- from PynamoDB conditions ----------------------------------------------------------------

_RANGE_HELP = (
    "range conditions are =, <, <=, >, >=, between() and startswith() on sort-key fields, "
    "combined with &"
)


def _atoms(condition: Condition) -> Iterable[Condition]:
    if isinstance(condition, And):
        for child in condition.values:
            yield from _atoms(child)
    else:
        yield condition


def _python_value(attribute: Attribute[Any], operand: Any, where: str) -> Any:
    if not isinstance(operand, Value):
        raise ValidationError(f"{where}a range compares a sort-key field with a value")
    try:
        return decode_value(attribute, operand.value)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValidationError(f"{where}{operand.value!r} is not a valid value: {exc}") from None


def split_range(
    conditions: Iterable[Condition],
    attributes: Mapping[str, Attribute[Any]],
    template: KeyTemplate,
    *,
    owner: str = "",
) -> tuple[dict[str, Any], FieldBound | None]:
    """Split range conditions into equalities and at most one bound, by template field.

    Args:
        conditions: Conditions such as ``Order.placed_at >= t``, ANDed together.
        attributes: The entity's attributes by Python name.
        template: The sort-key template.
        owner: Who asks, for messages.

    Raises:
        ValidationError: A condition is not a supported operator on a field of ``template``,
            a field is constrained twice, or there is more than one bound.
    """
    where = f"{owner}: " if owner else ""
    by_identity = {id(attribute): name for name, attribute in attributes.items()}
    equal: dict[str, Any] = {}
    bound: FieldBound | None = None
    for condition in conditions:
        for atom in _atoms(condition):
            if isinstance(atom, Comparison) and atom.operator != "<>":
                operator = atom.operator
            elif isinstance(atom, Between):
                operator = "BETWEEN"
            elif isinstance(atom, BeginsWith):
                operator = "begins_with"
            else:
                raise ValidationError(f"{where}{_RANGE_HELP}; got {atom!r}")
            path = atom.values[0]
            name = (
                by_identity.get(id(path.attribute))
                if isinstance(path, Path) and path.attribute is not None and len(path.path) == 1
                else None
            )
            if name is None or name not in template.fields:
                raise ValidationError(
                    f"{where}{atom!r}: ranges apply to the fields of sort key "
                    f"{template.source!r} ({', '.join(template.fields) or 'none'})"
                )
            attribute = attributes[name]
            values = tuple(_python_value(attribute, v, where) for v in atom.values[1:])
            if name in equal or (bound is not None and bound.field == name):
                raise ValidationError(f"{where}{name!r} has more than one range condition")
            if operator == "=":
                equal[name] = values[0]
            elif bound is not None:
                raise ValidationError(
                    f"{where}only one field can take a range ({bound.field!r} and {name!r}); "
                    "fix the others by equality"
                )
            else:
                bound = FieldBound(name, operator, values)
    return equal, bound
