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
from dynaorm.model.bound_keys import BoundKey
from dynaorm.model.key_only import exact_number, key_only_fields
from dynaorm.model.pynamodb_compat import typed_attribute_value
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
        replaced: Attributes of key-only fields whose actions are among ``actions``: the
            caller's own actions on them are left out of the request.
    """

    actions: tuple[NameAction, ...] = ()
    guards: Mapping[str, Any] = attrs.field(factory=dict)
    conditions: tuple[Condition | NameCondition, ...] = ()
    replaced: frozenset[str] = frozenset()


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
    writes: dict[str, str | None] = {}
    guards: dict[str, Any] = {}
    written: dict[str, bool] = {}  # touched key -> written after the update
    for key in update_profile(entity).index_keys:
        touched = [field for field in key.fields if field in changes]
        if not touched:
            continue
        if any(changes[field].kind == "removed" for field in touched):
            # A removed field leaves the key incomplete: sparse indexes stay sparse.
            values: dict[str, Any] = dict.fromkeys(touched)
            written[key.name] = False
        else:
            values = {}
            for field in key.fields:
                value, from_instance = _field_value(
                    entity, key, field, changes, key_values, instance, touched
                )
                values[field] = value
                if from_instance:
                    guards[field] = value
            written[key.name] = key.is_complete(values)
        for attribute, text in key.index_writes(values).items():
            if attribute in key.shared and not set(touched) & set(key.attribute_fields(attribute)):
                continue  # its own fields are unchanged, and another key needs it
            # An attribute several keys share has one template: the first answer stands.
            writes.setdefault(attribute, text)
    actions = [
        NameAction(attribute) if text is None else NameAction(attribute, {"S": text})
        for attribute, text in writes.items()
    ]
    fields = key_field_actions(entity, changes, written, instance, guards)
    actions += fields.values()
    conditions: list[Condition | NameCondition] = []
    if guard:
        attributes = entity.get_attributes()
        for field, value in guards.items():
            declared = attributes[field]
            held = _held_key(entity, field, instance)
            if held is not None:
                # Stored only inside that key: condition on the key's text instead.
                conditions += [NameCondition(a, {"S": t}) for a, t in held.items()]
            elif value is None:
                conditions.append(NameCondition(declared.attr_name, None))
            elif isinstance(value, Operand | Attribute):
                conditions.append(declared == value)  # not a plain value: PynamoDB's way
            else:
                typed = typed_attribute_value(entity, field, value)
                conditions.append(NameCondition(declared.attr_name, typed))
    return IndexSync(tuple(actions), guards if guard else {}, tuple(conditions), frozenset(fields))


def _held_key(entity: type[Entity], field: str, instance: Entity | None) -> dict[str, str] | None:
    """For a key-only ``field``: the text of the attributes of an index key of the instance
    that holds it (so the stored item lacks the field's own attribute); ``None`` when the
    field is stored as an attribute (no such key is written)."""
    known = key_only_fields(entity).get(field)
    if known is None or instance is None:
        return None
    values = instance.attribute_values
    for key in known.keys:
        if key.index is not None and key.is_complete(values):
            built = key.build(values)
            return {a: t for a, t in built.items() if a not in key.owned}
    return None


def key_field_actions(
    entity: type[Entity],
    changes: Mapping[str, Change],
    written: Mapping[str, bool],
    instance: Entity | None,
    guards: dict[str, Any],
) -> dict[str, NameAction]:
    """What an update does to the attributes of key-only fields (``store_key_fields=False``)
    it changes, or whose index keys it rewrites or removes: REMOVE the attribute where a key
    the item keeps after the update holds the field, SET it to the field's value where none
    does (a sparse index key removed), by physical name. The caller's own actions on those
    attributes are replaced by these.

    Raises:
        ValidationError: A key holding a field the update does not set is removed, no other
            key surely holds it, and there is no instance to take its value from.
    """
    out: dict[str, NameAction] = {}
    for field in key_only_fields(entity).values():
        if field.primary:
            continue  # always in the primary key, never stored, never changed
        change = changes.get(field.name)
        if change is None and not any(k.name in written for k in field.keys):
            continue
        states: list[bool | None] = []
        for key in field.keys:
            if key.name in written:
                states.append(written[key.name])
            elif instance is not None:
                states.append(key.is_complete(instance.attribute_values))
            else:
                states.append(None)
        if change is not None and change.kind == "expression":
            continue  # the caller's own action writes it (no key holds it afterwards)
        if True in states:
            # A key holds it: no attribute, unless its key text would not read back as it
            # (a float 2.0 builds "2"), as a put leaves such a number stored.
            if change is not None:
                value = change.value
            elif instance is not None:
                value = getattr(instance, field.name)
            else:
                continue  # unchanged, and what is stored is not known: leave it
            if value is None or exact_number(field.codecs, value):
                out[field.attribute] = NameAction(field.attribute)
                continue
        elif change is not None:
            value = change.value
        elif None not in states and instance is not None:
            value = guards[field.name] = getattr(instance, field.name)
        else:
            who = f"{entity.__qualname__}.{field.name}"
            raise ValidationError(
                f"{entity.__qualname__}: the update removes {field.describe()}, which holds "
                f"{who} (stored only in the keys, store_key_fields=False); without an "
                f"instance its value cannot be written back as an attribute. Set {who} in the "
                "update too, or update through an instance (entity.update(...))"
            )
        out[field.attribute] = (
            NameAction(field.attribute)
            if value is None
            else NameAction(field.attribute, _typed(entity, field.name, value))
        )
    return out


def _typed(entity: type[Entity], name: str, value: Any) -> dict[str, Any]:
    return typed_attribute_value(entity, name, value)
