"""Keeping index keys in step with an update.

When an update changes an attribute that an index key template uses, the index key
attributes are rewritten in the same request. Each field of the template takes its value
from, in order: a plain value the update sets, the primary key, or the instance the update
was made through. A field changed by an expression (ADD, ``x + 1``, ``if_not_exists``, ...)
or needed with neither a set value nor an instance cannot be known before the write, and the
update is refused rather than writing a stale key. A template left with a missing field
(removed, or absent on the instance) removes the index key attributes: sparse indexes stay
sparse.

Values taken from an instance of an entity without a version attribute may be out of date,
so the update is also conditioned on them still being stored (a versioned instance's version
condition already guarantees that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition

from dynaorm.base.errors import ValidationError
from dynaorm.expressions.compile import NameAction, NameCondition
from dynaorm.expressions.operands import Operand
from dynaorm.expressions.typed_values import typed_value
from dynaorm.model.bound_keys import BoundKey
from dynaorm.write.changes import Change, update_profile

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["IndexSync", "sync_index_keys"]


@attrs.frozen
class IndexSync:
    """The extra work an update needs to keep index keys in step.

    Attributes:
        actions: SET/REMOVE actions for the index key attributes.
        guards: Python name -> instance value for every field taken from the instance.
        conditions: Conditions that those values are still stored (empty when the version
            condition covers them).
    """

    actions: tuple[NameAction, ...] = ()
    guards: Mapping[str, Any] = attrs.field(factory=dict)
    conditions: tuple[Condition | NameCondition, ...] = ()


def _where(key: BoundKey) -> str:
    index = key.index.name if key.index is not None else "table"
    return f"index key {key.name} ({index}: {key.describe()})"


def _field_value(
    entity: type[Entity],
    key: BoundKey,
    field: str,
    changes: Mapping[str, Change],
    key_values: Mapping[str, Any],
    instance: Entity | None,
    touched: list[str],
) -> tuple[Any, bool]:
    """The value of one template field, and whether it came from the instance."""
    change = changes.get(field)
    if change is not None:
        if change.kind == "plain":
            return change.value, False
        who = f"{entity.__qualname__}.{field}"
        raise ValidationError(
            f"{who} is used by {_where(key)}, and the update changes it with an expression "
            "(ADD, arithmetic, if_not_exists, list_append or a nested path) whose result is "
            "known only after the write, so the index key cannot be computed; set it to a "
            f"plain value ({who}.set(value)), e.g. in a read-modify-write with "
            f"{entity.__qualname__}.mutate()"
        )
    if field in key_values:
        return key_values[field], False
    if instance is not None:
        return getattr(instance, field), True
    who = f"{entity.__qualname__}.{field}"
    raise ValidationError(
        f"{entity.__qualname__}: the update changes {', '.join(touched)}, used by "
        f"{_where(key)}, which also needs {field}; the update does not set {field} to a plain "
        f"value and there is no instance to take it from. Add {who}.set(...) to the update, "
        "or update through an instance (entity.update(...))"
    )


def sync_index_keys(
    entity: type[Entity],
    changes: Mapping[str, Change],
    *,
    key_values: Mapping[str, Any],
    instance: Entity | None,
    guard: bool,
) -> IndexSync:
    """Compute the index key actions for an update.

    Args:
        entity: The entity updated.
        changes: The update's changes, by Python attribute name (declared attributes only).
        key_values: The primary-key field values.
        instance: The instance the update is made through, if any.
        guard: Condition the update on the instance values used (no version condition).

    Raises:
        ValidationError: A template field cannot be known before the write, or a key value is
            unusable (e.g. contains the template delimiter).
    """
    actions: list[NameAction] = []
    guards: dict[str, Any] = {}
    for key in update_profile(entity).index_keys:
        touched = [field for field in key.fields if field in changes]
        if not touched:
            continue
        if any(changes[field].kind == "removed" for field in touched):
            actions.extend(NameAction(attribute) for attribute in key.written_attributes)
            continue
        values: dict[str, Any] = {}
        for field in key.fields:
            value, from_instance = _field_value(
                entity, key, field, changes, key_values, instance, touched
            )
            values[field] = value
            if from_instance:
                guards[field] = value
        if key.is_complete(values):
            for attribute, text in key.build(values).items():
                actions.append(NameAction(attribute, {"S": text}))
        else:
            actions.extend(NameAction(attribute) for attribute in key.written_attributes)
    conditions: list[Condition | NameCondition] = []
    if guard:
        attributes = entity.get_attributes()
        for field, value in guards.items():
            declared = attributes[field]
            if value is None:
                conditions.append(NameCondition(declared.attr_name, None))
            elif isinstance(value, Operand | Attribute):
                conditions.append(declared == value)  # not a plain value: PynamoDB's way
            else:
                conditions.append(NameCondition(declared.attr_name, typed_value(declared, value)))
    return IndexSync(tuple(actions), guards if guard else {}, tuple(conditions))
