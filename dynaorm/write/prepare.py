"""Preparing a whole-item write without changing the instance: the one home of put-time
versioning and timestamping.

:func:`prepare_put` serves every way an instance is written whole — ``save()`` (a
``PutItem``), ``tx.put`` (a transaction's ``Put``) and ``batch.put`` (a ``PutRequest``). From
the instance as it is, it computes

* the item to write: created/updated timestamps set as a full write sets them, the next
  version, serialized, and checked against DynamoDB's limits (keys, values, 400 KB);
* the condition: the version condition (the held version, or the item not existing for a
  first save) ANDed with the caller's;
* the :class:`InstanceChanges` to apply once the write succeeded (the new version, the
  timestamps written).

The instance changes only when the caller applies them, after a success; so a write that
fails, is refused or is interrupted (Ctrl-C) leaves the instance exactly as it was, and there
is nothing to undo.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from pynamodb.expressions.condition import Condition

from dynaorm.expressions.compile import ExpressionBuilder, conjoin
from dynaorm.model.pynamodb_compat import with_values
from dynaorm.model.timestamps import now, save_stamps
from dynaorm.model.versions import next_version, set_version, version_condition
from dynaorm.write.changes import check_condition_values

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["NO_CHANGES", "InstanceChanges", "PreparedPut", "condition_members", "prepare_put"]


@attrs.frozen
class InstanceChanges:
    """What a write changes on the instance it was made through, once it succeeded.

    Attributes:
        version: The version the instance holds afterwards (``None``: left as it is).
        stamps: Timestamp attributes and the values written, by Python name.

    Example:
        >>> plan = note.save_plan()  # doctest: +SKIP
        >>> plan.changes  # doctest: +SKIP
        InstanceChanges(version=None, stamps={'created': ..., 'updated': ...})
    """

    version: int | None = None
    stamps: Mapping[str, datetime] = attrs.field(factory=dict)

    def apply(self, instance: Entity) -> None:
        """Bring ``instance`` up to date with the write (call it only after a success)."""
        for name, when in self.stamps.items():
            setattr(instance, name, when)
        if self.version is not None:
            set_version(instance, self.version)


NO_CHANGES = InstanceChanges()
"""Nothing to change (deletes, writes by key)."""


@attrs.frozen
class PreparedPut:
    """A whole-item write of an instance, ready to send; see :func:`prepare_put`.

    Attributes:
        item: The item to write, as DynamoDB takes it.
        condition: The version condition ANDed with the caller's (``None``: unconditional).
        expected: The version the write is conditioned on (``None`` for a first save, or
            without versioning).
        changes: What the instance gets once the write succeeded.
    """

    item: dict[str, Any]
    condition: Condition | None
    expected: int | None
    changes: InstanceChanges


def prepare_put(
    instance: Entity,
    condition: Condition | None = None,
    *,
    versioning: bool = True,
    stamping: bool = True,
    when: datetime | None = None,
) -> PreparedPut:
    """Prepare writing ``instance`` whole, without changing it.

    Args:
        instance: The instance to write.
        condition: A condition the stored item must meet (ANDed with the version condition).
        versioning: Condition on the held version and write the next one (a versioned entity;
            ``False`` writes the version the instance holds, unchecked: batches).
        stamping: Set created/updated timestamps (``False`` writes them as held: imports).
        when: The time to stamp (now when ``None``).

    Raises:
        ValidationError: The instance is partial, a key or attribute is invalid, a value
            cannot be stored, the item is over 400 KB, or a condition holds a value DynamoDB
            cannot take.

    Example:
        >>> prepared = prepare_put(order, Order.status == "NEW")  # doctest: +SKIP
        >>> prepared.item["PK"], prepared.changes.version  # doctest: +SKIP
        ({'S': 'CUSTOMER#c1'}, None)
    """
    if instance.is_partial:
        # Refused before anything reads an attribute it lacks (to_item says why).
        instance.to_item()
    locked, expected = version_condition(instance) if versioning else (None, None)
    stamps = save_stamps(instance, when or now()) if stamping else {}
    new_values: dict[str, Any] = dict(stamps)
    version = None
    name = type(instance).__version_attribute__
    if versioning and name is not None:
        version = new_values[name] = next_version(expected)
    item = _item_with(instance, new_values)
    check_condition_values(type(instance), condition)
    changes = InstanceChanges(version, stamps) if version is not None or stamps else NO_CHANGES
    return PreparedPut(item, conjoin(locked, condition), expected, changes)


def _item_with(instance: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    """The item of ``instance`` with ``values`` (by Python name) set, the instance unchanged."""
    if not values:
        return instance.to_item()
    return with_values(instance, values).to_item()


def condition_members(condition: Condition | None) -> dict[str, Any]:
    """The request members of a condition: ``ConditionExpression`` with its placeholders and
    ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` (so a failure carries the stored item);
    empty for no condition.

    Example:
        >>> condition_members(Order.status == "NEW")["ConditionExpression"]  # doctest: +SKIP
        '#n0 = :v0'
    """
    if condition is None:
        return {}
    builder = ExpressionBuilder()
    members: dict[str, Any] = {
        "ConditionExpression": builder.condition(condition),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    members.update(builder.members())
    return members
