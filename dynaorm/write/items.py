"""Whole-item writes (PutItem, DeleteItem): what ``save()`` and ``delete()`` run.

An entity's ``save()``/``delete()`` delegate here, and run a write plan
(:mod:`dynaorm.write.plans`). Optimistic locking works the same way for every write: the
request is conditioned on the version the instance holds (or on the item not existing, for a
first save) and writes the next one; a failed condition comes back with the stored item
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) and becomes a
:class:`~dynaorm.VersionConflict` when the stored version is not the expected one
(:mod:`dynaorm.write.failures`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.expressions.condition import Condition

from dynaorm.write.plans import delete_plan, put_plan

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["delete_entity", "save_entity"]


def save_entity(instance: Entity, condition: Condition | None) -> None:
    """PutItem the whole instance; see :meth:`Entity.save`."""
    put_plan(instance, condition).execute()


def delete_entity(instance: Entity, condition: Condition | None) -> None:
    """DeleteItem the instance's item; see :meth:`Entity.delete`."""
    delete_plan(type(instance), instance.item_key, condition, instance=instance).execute()
