"""UpdateItem: building the request for an entity (version, timestamps, index keys) and
decoding what comes back.

:func:`update_plan` makes the :class:`~dynaorm.WritePlan` of an update, which ``update()``,
``update_by_key()`` and a transaction's ``update`` use. Its request members without
``ReturnValues`` (:func:`build_update`) are shared by ``UpdateItem`` and a
``TransactWriteItems`` ``Update`` (``TableName``, ``Key``, ``UpdateExpression``,
``ConditionExpression``, ``ReturnValuesOnConditionCheckFailure``,
``ExpressionAttributeNames``/``Values``). Every update also

* increments the version attribute: conditioned on the instance's version when made through
  an instance (``SET version = :next``), unconditionally by key
  (``SET version = if_not_exists(version, 0) + 1``);
* sets updated timestamps, and created ones where the item has none;
* writes the entity type and the primary-key fields where the item lacks them, so an update
  that creates the item (DynamoDB's upsert) leaves a complete, typed item;
* rewrites or removes the index keys whose templates use an attribute it changes.

DynamoDB limits a stored item to 400 KB, but what an update does to the size is known only on
the server: dynaorm checks the values it sends (each number, and that what is set fits in
400 KB), not the size of the resulting item. DynamoDB rejects an item grown past the limit;
some local servers (moto) do not.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs
from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from dynaorm.base.errors import UnknownEntityType, ValidationError
from dynaorm.base.limits import check_text
from dynaorm.expressions.compile import ExpressionBuilder, NameAction
from dynaorm.expressions.operands import Operand
from dynaorm.expressions.paths import top_name
from dynaorm.expressions.typed_values import decode_attributes, typed_value
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.decode import decode_whole, reload
from dynaorm.model.entity import check_concrete
from dynaorm.model.key_only import from_keys, key_only_fields
from dynaorm.model.timestamps import now, update_stamps
from dynaorm.model.versions import next_version, version_condition
from dynaorm.wire.connection import TableBinding, bind
from dynaorm.write.changes import (
    Change,
    analyse_actions,
    check_condition_values,
)
from dynaorm.write.index_sync import sync_index_keys
from dynaorm.write.plans import READ_BACK, WritePlan
from dynaorm.write.prepare import NO_CHANGES, InstanceChanges

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = [
    "RETURN_VALUES",
    "CompiledUpdate",
    "ReturnValues",
    "build_update",
    "compile_update",
    "update_plan",
]

ReturnValues = Literal["NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"]
RETURN_VALUES: tuple[str, ...] = get_args(ReturnValues)

# UPDATED_* are answered from the whole item so that each attribute decodes to its full value
# (DynamoDB's own UPDATED_* return fragments of nested documents).
_WIRE = {
    "NONE": "NONE",
    "ALL_NEW": "ALL_NEW",
    "UPDATED_NEW": "ALL_NEW",
    "ALL_OLD": "ALL_OLD",
    "UPDATED_OLD": "ALL_OLD",
}


@attrs.frozen
class CompiledUpdate:
    """A compiled update and what is needed to interpret its outcome.

    Attributes:
        request: The request members (see :func:`build_update`).
        touched: Physical names of the attributes the update reports under ``UPDATED_*``:
            those the actions change, the version, and the timestamps it sets.
        expected: The version the update is conditioned on (``None`` when it is not).
        versioned: Whether the request carries a version condition.
        guards: Python name -> value of instance attributes index keys were computed from.
        idempotent: Whether sending the request twice has the effect of sending it once.
    """

    request: dict[str, Any]
    touched: frozenset[str]
    expected: int | None
    versioned: bool
    guards: dict[str, Any]
    idempotent: bool


def _key_values(entity: type[Entity], key: ItemKey, instance: Entity | None) -> dict[str, Any]:
    primary = entity.__primary__
    if instance is not None:
        return {name: getattr(instance, name) for name in primary.fields}
    return primary.parse({name: {"S": text} for name, text in key.key.items()})


def compile_update(
    entity: type[Entity],
    key: ItemKey,
    actions: Sequence[Action],
    *,
    condition: Condition | None = None,
    instance: Entity | None = None,
    when: datetime | None = None,
    bound: TableBinding | None = None,
) -> CompiledUpdate:
    """Compile an update of the item ``key`` of ``entity`` (to the table ``bound``, or as the
    current context sees it); see :func:`build_update`."""
    check_concrete(entity)
    if key.entity is not entity:
        raise ValidationError(
            f"{entity.__qualname__}: got a key of {key.entity.__qualname__} ({dict(key.key)}); "
            f"build it with {entity.__qualname__}.key(...)"
        )
    if not actions:
        raise ValidationError(
            f"{entity.__qualname__} {dict(key.key)}: nothing to update; pass actions such as "
            f"{entity.__qualname__}.attribute.set(value)"
        )
    for action in actions:
        target = action.values[0] if isinstance(action, Action) else None
        for segment in target.path if isinstance(target, Path) else ():
            check_text(str(segment), what=f"{entity.__qualname__}: attribute name")
    changes = analyse_actions(entity, actions)
    check_condition_values(entity, condition)
    versioning = _versioning(entity, key, instance)
    stamps = _timestamps(entity, changes, instance, when or now())
    key_values = _key_values(entity, key, instance)
    table = entity.__table__
    # An update may create the item: give it its entity type and primary-key fields.
    owned: list[Action | NameAction] = (
        [NameAction(table.type_attribute, {"S": entity.__type_name__})] if table.store_type else []
    )
    key_only = key_only_fields(entity)  # never written beside the keys
    owned += _fill_missing(
        entity.get_attributes(), {n: v for n, v in key_values.items() if n not in key_only}
    )

    by_python = {c.python: c for c in changes.values() if c.python is not None}
    by_python.update(stamps.plain)
    sync = sync_index_keys(
        entity,
        by_python,
        key_values=key_values,
        instance=instance,
        guard=instance is not None and entity.__version_attribute__ is None,
    )
    if sync.replaced:
        # Key-only fields: the sync's actions say whether each attribute is stored.
        actions = [a for a in actions if _target(a) not in sync.replaced]
    builder = ExpressionBuilder()
    request: dict[str, Any] = {
        "TableName": table.name if bound is None else bound.name,
        "Key": key.to_request(),
        "UpdateExpression": builder.update(
            [*actions, *versioning.actions, *stamps.actions, *owned, *sync.actions]
        ),
    }
    combined = builder.conditions([versioning.condition, *sync.conditions, condition])
    if combined is not None:
        request["ConditionExpression"] = combined
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    request.update(builder.members())
    idempotent = (
        combined is None
        and not versioning.actions
        and all(c.kind in ("plain", "removed") for c in changes.values())
    )
    return CompiledUpdate(
        request,
        frozenset({*changes, *versioning.touched, *stamps.touched}),
        versioning.expected,
        versioning.condition is not None,
        dict(sync.guards),
        idempotent,
    )


def _target(action: Action) -> str | None:
    """The top-level attribute an action changes."""
    path = action.values[0]
    return top_name(path) if isinstance(path, Path) else None


def _fill_missing(
    attributes: Mapping[str, Attribute[Any]], values: Mapping[str, Any]
) -> list[Action | NameAction]:
    """``attribute.set(attribute | value)`` for each value: set where the item has none."""
    out: list[Action | NameAction] = []
    for name, value in values.items():
        attribute = attributes[name]
        if isinstance(value, Operand | Attribute):
            out.append(attribute.set(attribute | value))  # not a plain value: PynamoDB's way
        else:
            out.append(
                NameAction(attribute.attr_name, typed_value(attribute, value), if_missing=True)
            )
    return out


@attrs.frozen
class _Extra:
    """Actions (and a condition) an update gets besides the caller's."""

    actions: tuple[Action, ...] = ()
    touched: frozenset[str] = frozenset()
    condition: Condition | None = None
    expected: int | None = None
    plain: dict[str, Change] = attrs.field(factory=dict)


_NOTHING = _Extra()  # shared: nothing ever changes an _Extra's members


def _versioning(entity: type[Entity], key: ItemKey, instance: Entity | None) -> _Extra:
    """Through an instance: condition on its version and set the next one. By key: increment
    whatever is stored (``if_not_exists(version, 0) + 1``)."""
    name = entity.__version_attribute__
    if name is None:
        return _NOTHING
    attribute = entity.get_attributes()[name]
    touched = frozenset({attribute.attr_name})
    if instance is None:
        return _Extra((attribute.set((attribute | 0) + 1),), touched)
    condition, expected = version_condition(instance)
    if expected is None:
        raise ValidationError(
            f"{entity.__qualname__} {dict(key.key)} has no version yet, so it was never "
            f"saved: save() it first, or use {entity.__qualname__}.update_by_key(...) to update "
            "or create it by key"
        )
    return _Extra((attribute.set(next_version(expected)),), touched, condition, expected)


def _timestamps(
    entity: type[Entity], changes: Mapping[str, Change], instance: Entity | None, when: datetime
) -> _Extra:
    """The actions setting the timestamps :func:`~dynaorm.model.timestamps.update_stamps`
    chooses; updated ones also as plain values, so index keys can use them."""
    stamps = update_stamps(entity, changes, instance)
    if not stamps.always and not stamps.if_missing:
        return _NOTHING
    actions: list[Action] = [attribute.set(when) for _, attribute in stamps.always]
    actions += [attribute.set(attribute | when) for _, attribute in stamps.if_missing]
    touched = {a.attr_name for _, a in stamps.always + stamps.if_missing}
    plain = {n: Change(a.attr_name, n, "plain", when) for n, a in stamps.always}
    return _Extra(tuple(actions), frozenset(touched), plain=plain)


def build_update(
    entity: type[Entity],
    key: ItemKey,
    actions: Sequence[Action],
    *,
    condition: Condition | None = None,
    instance: Entity | None = None,
) -> dict[str, Any]:
    """The request members of an update of one item, with version, timestamps and index keys.

    Usable as the ``Update`` member of a ``TransactWriteItems`` request as it is, or as an
    ``UpdateItem`` request once ``ReturnValues`` is added.

    Args:
        entity: The entity class.
        key: The item's key (``entity.key(...)`` or ``instance.item_key``).
        actions: PynamoDB update actions: ``Order.status.set("PAID")``, ``Order.total.add(1)``.
        condition: A condition the stored item must meet.
        instance: The instance the update is made through: its version conditions the update
            and its values complete index keys.

    Returns:
        ``TableName``, ``Key``, ``UpdateExpression``, ``ExpressionAttributeNames``/``Values``,
        and, when there is a condition, ``ConditionExpression`` with
        ``ReturnValuesOnConditionCheckFailure=ALL_OLD``.

    Raises:
        ValidationError: An action targets a key, the version or a primary-key field; an index
            key cannot be computed; a value is not one DynamoDB can store.

    Example:
        >>> build_update(Order, Order.key(customer_id="c1", order_id="o1"),
        ...              [Order.status.set("SHIPPED")])["UpdateExpression"]  # doctest: +SKIP
        'SET #n0 = :v0, #n1 = :v1, ...'
    """
    return compile_update(entity, key, actions, condition=condition, instance=instance).request


def update_plan(
    entity: type[Entity],
    key: ItemKey,
    actions: Sequence[Action],
    *,
    condition: Condition | None = None,
    instance: Entity | None = None,
    return_values: str = "ALL_NEW",
    bound: TableBinding | None = None,
) -> WritePlan[Any]:
    """The plan of an ``UpdateItem``; see :meth:`Entity.update` and
    :meth:`Entity.update_by_key` (``instance=None``).

    Raises:
        ValidationError: ``return_values`` is not one of :data:`RETURN_VALUES`, or see
            :func:`build_update`.
    """
    if return_values not in RETURN_VALUES:
        raise ValidationError(
            f"{entity.__qualname__}: return_values={return_values!r}; use one of "
            f"{', '.join(RETURN_VALUES)}"
        )
    bound = bound or bind(entity.__table__)
    compiled = compile_update(
        entity, key, actions, condition=condition, instance=instance, bound=bound
    )
    wire = _WIRE[return_values]
    if instance is not None and wire == "NONE":
        wire = "ALL_NEW"  # so the instance can reflect the stored item
    expected = compiled.expected
    # A transaction's commit gives the instance its new version (a single update reloads it).
    changes = (
        InstanceChanges(next_version(expected))
        if compiled.versioned and expected is not None
        else NO_CHANGES
    )
    return WritePlan(
        operation="UpdateItem",
        entity=entity,
        key=key,
        instance=instance,
        changes=changes,
        expected_version=expected,
        request={**compiled.request, "ReturnValues": wire},
        binding=bound,
        versioned=compiled.versioned,
        idempotent=compiled.idempotent,
        finish=functools.partial(
            _finish, entity, instance, compiled.touched, return_values, wire == "ALL_NEW"
        ),
        guards=compiled.guards,
    )


def _finish(
    entity: type[Entity],
    instance: Entity | None,
    touched: frozenset[str],
    return_values: str,
    whole_new: bool,
    response: dict[str, Any],
) -> Any:
    """Decode an UpdateItem response: bring the instance up to date and return what
    ``return_values`` asks for."""
    raw: dict[str, Any] = response.get("Attributes") or {}
    if instance is not None:
        _reflect(instance, raw if whole_new else None, response.get(READ_BACK))
    if return_values == "NONE":
        return None
    if return_values.startswith("UPDATED_"):
        # Key-only fields (store_key_fields=False) are read from the keys holding them.
        return {**decode_attributes(entity, raw, touched), **from_keys(entity, raw, touched)}
    if instance is not None and return_values == "ALL_NEW":
        return instance
    return decode_whole(entity, raw) if raw else None


def _reflect(instance: Entity, new: dict[str, Any] | None, read: dict[str, Any] | None) -> None:
    """Make the instance hold the item as stored after the update (``read``: the item the
    plan's consistent read-back found, when the response does not hold it)."""
    if new is not None:
        reload(instance, new)  # the whole item: a partial instance is whole afterwards
        return
    # Deleted meanwhile: a later versioned write through the instance will conflict.
    if read:
        with contextlib.suppress(UnknownEntityType):
            reload(instance, read)
