"""What an update's actions change: per top-level attribute, a plain value, a removal, or an
expression whose result only the server knows.

This is what lets an update keep index keys in step: a key template can be recomputed only
from values known before the request is sent. The analysis also refuses actions on attributes
dynaorm maintains (keys, the entity type, the version, primary-key fields) and checks the
values being sent (numbers DynamoDB can store, the 400 KB item limit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
from pynamodb.attributes import Attribute
from pynamodb.constants import LIST, MAP
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import Action, RemoveAction, SetAction

from dynaorm.base.class_cache import per_class
from dynaorm.base.errors import ValidationError
from dynaorm.base.limits import ITEM_SIZE_LIMIT, check_value, short_repr
from dynaorm.base.sizes import value_size
from dynaorm.expressions.compile import operand_values
from dynaorm.expressions.operands import ListAppend
from dynaorm.expressions.paths import path_depth, path_head, path_names
from dynaorm.expressions.typed_values import decode_value
from dynaorm.model.key_only import refuse_key_only_paths

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.model.bound_keys import BoundKey

__all__ = [
    "Change",
    "UpdateProfile",
    "analyse_actions",
    "check_condition_values",
    "plain_values",
    "update_profile",
]

ChangeKind = Literal["plain", "removed", "expression"]
_NESTED = (LIST, MAP)


@attrs.frozen
class Change:
    """How an update changes one top-level attribute.

    Attributes:
        name: The physical attribute name.
        python: The entity's Python name for it (``None`` for an undeclared attribute).
        kind: ``"plain"`` (set to a known value), ``"removed"``, or ``"expression"`` (ADD,
            DELETE, arithmetic, ``if_not_exists``, ``list_append``, a nested path, ...).
        value: The value of a plain set: decoded for key template fields, the typed value
            (``{"S": "x"}``) for other attributes.
    """

    name: str
    python: str | None
    kind: ChangeKind
    value: Any = None


@attrs.frozen
class UpdateProfile:
    """What an update of an entity needs to know about its class, worked out once per class
    (the attributes, keys and table of an entity do not change once it is defined).

    Attributes:
        declared: Physical name -> (Python name, attribute) of every declared attribute.
        template_fields: Python names of the attributes any key template uses.
        reserved: Attribute names dynaorm maintains (the table's keys and entity type).
        index_keys: The entity's index keys, in declaration order.
    """

    declared: Mapping[str, tuple[str, Attribute[Any]]]
    template_fields: frozenset[str]
    reserved: frozenset[str]
    index_keys: tuple[BoundKey, ...]


def update_profile(entity: type[Entity]) -> UpdateProfile:
    """The :class:`UpdateProfile` of ``entity`` (computed on first use, then kept)."""
    return per_class(entity, "_dynaorm_update_profile", _build_profile)


def _build_profile(entity: type[Entity]) -> UpdateProfile:
    keys = entity.__keys__.values()
    return UpdateProfile(
        {a.attr_name: (n, a) for n, a in entity.get_attributes().items()},
        frozenset(f for key in keys for f in key.fields),
        entity.__table__.reserved_attributes,
        tuple(key for key in keys if key.index is not None),
    )


def _describe(action: Action) -> str:
    return type(action).__name__.removesuffix("Action").upper()


def _refuse(
    entity: type[Entity], reserved: frozenset[str], name: str, python: str | None, action: Action
) -> None:
    if name in reserved:
        raise ValidationError(
            f"{entity.__qualname__}: the update {_describe(action)}s {name!r}, which dynaorm "
            "maintains (a key attribute or the entity type); change the attributes its key "
            "templates use instead"
        )
    if python is None:
        return
    who = f"{entity.__qualname__}.{python}"
    if python == entity.__version_attribute__:
        raise ValidationError(
            f"{who} is the version attribute; dynaorm increments it on every write, so leave "
            "it out of the update"
        )
    if python in entity.__primary__.fields:
        raise ValidationError(
            f"{who} is part of the primary key ({entity.__primary__.describe()}); an update "
            "cannot move an item to another key. Delete the item and put the changed one in a "
            "transaction instead (with table.transaction() as tx: tx.delete(old); tx.put(new))"
        )


def _decode(who: str, attribute: Attribute[Any] | None, value: Value, *, full: bool) -> Any:
    """The Python value a plain SET stores (``None`` for NULL); decoded only when ``full``
    (key template fields), otherwise just type-checked."""
    typed: dict[str, Any] = value.value
    if "NULL" in typed:
        return None
    if attribute is None:
        return typed
    if attribute.attr_type not in typed:
        raise ValidationError(
            f"{who}: cannot set a {next(iter(typed))} value {value!r} on a "
            f"{type(attribute).__name__} ({attribute.attr_type}); pass a value of its type"
        )
    if not full:
        return typed
    try:
        return decode_value(attribute, typed)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{who}: {value!r} is not a valid value: {exc}") from None


def _landing_size(action: Action) -> int:
    """Bytes a SET action certainly adds to the stored item (0 when it may add none)."""
    if not isinstance(action, SetAction):
        return 0
    path, operand = action.values
    assert isinstance(path, Path)
    name_bytes = sum(len(name.encode("utf-8")) for name in path_names(path))
    if isinstance(operand, Value):
        return name_bytes + value_size(operand.value)
    if isinstance(operand, ListAppend):
        return name_bytes + sum(value_size(v.value) for v in operand_values(operand))
    return 0


def analyse_actions(entity: type[Entity], actions: Sequence[Action]) -> dict[str, Change]:
    """Analyse update actions: their changes by physical top-level attribute name.

    Raises:
        TypeError: Something that is not an update action was passed.
        ValidationError: An action targets an attribute dynaorm maintains or a primary-key
            field; a value is not one DynamoDB can store; the values set already exceed 400 KB.
    """
    profile = update_profile(entity)
    declared = profile.declared
    template_fields = profile.template_fields
    changes: dict[str, Change] = {}
    landing = 0
    for action in actions:
        if not isinstance(action, Action):
            raise TypeError(
                f"expected an update action such as {entity.__qualname__}.attribute.set(value), "
                f"got {short_repr(action)} ({type(action).__name__})"
            )
        path = action.values[0]
        assert isinstance(path, Path)
        name, nested = path_head(path)
        python, attribute = declared.get(name, (None, None))
        _refuse(entity, profile.reserved, name, python, action)
        who = f"{entity.__qualname__}.{python or name}"
        depth = path_depth(path)
        for argument in action.values[1:]:
            for value in operand_values(argument):
                check_value(value.value, what=f"{who} (update value)", depth=depth)
        landing += _landing_size(action)
        kind: ChangeKind = "expression"
        decoded: Any = None
        operand = action.values[1] if len(action.values) > 1 else None
        if not nested and isinstance(action, RemoveAction):
            kind = "removed"
        elif not nested and isinstance(action, SetAction) and isinstance(operand, Value):
            decoded = _decode(who, attribute, operand, full=python in template_fields)
            kind = "removed" if decoded is None else "plain"
        if name in changes:
            kind, decoded = "expression", None  # two actions on one attribute: unknowable
        changes[name] = Change(name, python, kind, decoded)
    if landing > ITEM_SIZE_LIMIT:
        raise ValidationError(
            f"{entity.__qualname__}: the update sets {landing:,} bytes of names and values; "
            f"DynamoDB items are limited to {ITEM_SIZE_LIMIT:,} bytes. Move large values to S3 "
            "or split the item"
        )
    return changes


def check_condition_values(entity: type[Entity], condition: Condition | None) -> None:
    """Check the values a condition compares with (numbers DynamoDB can store), and that it
    names no field stored only in the keys (``store_key_fields=False``).

    Raises:
        ValidationError: NaN, infinity, or a number DynamoDB cannot represent; a key-only
            field (its attribute is absent, so the condition would never hold).
    """
    if condition is None:
        return
    for value in operand_values(condition):
        check_value(value.value, what=f"{entity.__qualname__} (condition value)")
    refuse_key_only_paths([entity], condition, f"{entity.__qualname__} (condition)")


def plain_values(changes: Mapping[str, Change]) -> dict[str, Any]:
    """Python name -> value of every declared attribute set to a plain value."""
    return {c.python: c.value for c in changes.values() if c.python and c.kind == "plain"}
