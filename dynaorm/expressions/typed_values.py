"""Single typed values: a Python value as an attribute stores it, and a stored value read back.

A typed value is DynamoDB's form of one attribute value (``{"S": "x"}``, ``{"N": "7"}``,
``{"M": {...}}``). Whole items are encoded and decoded by the entity codec
(:mod:`dynaorm.model.pynamodb_compat`); the values here are those an update, a condition or a
failed write handles one at a time: a value an update sets, the attributes a failed condition
returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import Attribute
from pynamodb.constants import LIST, MAP
from pynamodb.expressions.operand import Value

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = ["decode_attributes", "decode_value", "typed_value"]

_NESTED = (LIST, MAP)


def typed_value(attribute: Attribute[Any], value: Any) -> dict[str, Any]:
    """A plain value as ``attribute`` stores it (what ``Value(value, attribute=attribute)``
    holds), without building the operand where the value is a scalar.

    Example:
        >>> from pynamodb.attributes import NumberAttribute
        >>> typed_value(NumberAttribute(), 7)
        {'N': '7'}
    """
    if value is not None and not isinstance(value, dict) and attribute.attr_type not in _NESTED:
        return {attribute.attr_type: attribute.serialize(value)}  # what Value does for these
    typed: dict[str, Any] = Value(value, attribute=attribute).value
    return typed


def decode_value(attribute: Attribute[Any], typed: dict[str, Any]) -> Any:
    """A typed value read back as ``attribute`` holds it (``None`` for ``{"NULL": true}``).

    Example:
        >>> from pynamodb.attributes import NumberAttribute
        >>> decode_value(NumberAttribute(), {"N": "7"})
        7
    """
    if "NULL" in typed:
        return None
    return attribute.deserialize(attribute.get_value(typed))


def decode_attributes(
    entity: type[EntityBase], raw: Mapping[str, Any], names: frozenset[str]
) -> dict[str, Any]:
    """Decode the attributes ``names`` (physical names) of a raw item, by Python name.

    Attributes the entity does not declare are returned under their physical name, as the raw
    typed value; attributes missing from ``raw`` are left out.

    Example:
        >>> decode_attributes(Order, {"total": {"N": "5"}, "x": {"S": "y"}}, {"total", "x"})
        ... # doctest: +SKIP
        {'total': 5, 'x': {'S': 'y'}}
    """
    declared = {a.attr_name: (n, a) for n, a in entity.get_attributes().items()}
    out: dict[str, Any] = {}
    for name in sorted(names):
        value = raw.get(name)
        if value is None:
            continue
        if name not in declared:
            out[name] = value
            continue
        python_name, attribute = declared[name]
        out[python_name] = decode_value(attribute, value)
    return out
