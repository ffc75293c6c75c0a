"""The write plans, update and read-modify-write methods of :class:`~dynaorm.Entity`.

A mixin, so that :mod:`dynaorm.model.entity` keeps to definitions, keys, serialization and
whole-item writes; the logic lives in :mod:`dynaorm.write.plans`,
:mod:`dynaorm.write.updates` and :mod:`dynaorm.write.mutate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Self, cast, overload

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from dynaorm.base.errors import VersionConflict
from dynaorm.model.bound_keys import ItemKey
from dynaorm.wire.retry import RetryPolicy
from dynaorm.write import plans, updates
from dynaorm.write.mutate import mutate_entity
from dynaorm.write.plans import WritePlan
from dynaorm.write.updates import ReturnValues

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["EntityWrites"]

_New = Literal["ALL_NEW"]
_Old = Literal["ALL_OLD"]
_Nothing = Literal["NONE"]
_Changed = Literal["UPDATED_OLD", "UPDATED_NEW"]


def _entity(cls: type[Any]) -> type[Entity]:
    return cast("type[Entity]", cls)


def _self(instance: Any) -> Entity:
    return cast("Entity", instance)


class EntityWrites:
    """Write plans (:meth:`save_plan`, :meth:`delete_plan`, :meth:`update_plan`,
    :meth:`update_by_key_plan`), updates (:meth:`update`, :meth:`update_by_key`) and
    :meth:`mutate` for entities."""

    def save_plan(self, *, condition: Condition | None = None) -> WritePlan[None]:
        """The ``PutItem`` :meth:`save` sends, compiled and not sent: the item with its
        timestamps and next version, and the version condition ANDed with ``condition``.

        The instance is not changed; the plan's ``execute()`` saves it, as ``save()`` does.

        Raises:
            ValidationError: As for ``save()``; nothing is sent.

        Example:
            >>> order.save_plan(condition=Order.status == "NEW").compile()["Item"]["PK"]
            ... # doctest: +SKIP
            {'S': 'CUSTOMER#c1'}
        """
        return plans.put_plan(_self(self), condition)

    def delete_plan(self, *, condition: Condition | None = None) -> WritePlan[None]:
        """The ``DeleteItem`` :meth:`delete` sends (conditioned on the version this instance
        holds and ``condition``), compiled and not sent; ``execute()`` deletes the item.

        Example:
            >>> order.delete_plan().compile()["Key"]  # doctest: +SKIP
            {'PK': {'S': 'CUSTOMER#c1'}, 'SK': {'S': 'ORDER#o1'}}
        """
        instance = _self(self)
        return plans.delete_plan(type(instance), instance.item_key, condition, instance=instance)

    @overload
    def update_plan(
        self, *actions: Action, condition: Condition | None = ..., return_values: _New = ...
    ) -> WritePlan[Self]: ...
    @overload
    def update_plan(
        self, *actions: Action, condition: Condition | None = ..., return_values: _Old
    ) -> WritePlan[Self | None]: ...
    @overload
    def update_plan(
        self, *actions: Action, condition: Condition | None = ..., return_values: _Nothing
    ) -> WritePlan[None]: ...
    @overload
    def update_plan(
        self, *actions: Action, condition: Condition | None = ..., return_values: _Changed
    ) -> WritePlan[dict[str, Any]]: ...
    def update_plan(
        self,
        *actions: Action,
        condition: Condition | None = None,
        return_values: ReturnValues = "ALL_NEW",
    ) -> WritePlan[Any]:
        """The ``UpdateItem`` :meth:`update` sends, compiled and not sent; its ``execute()``
        updates the item and returns what ``update()`` returns.

        Raises:
            ValidationError: As for ``update()``; nothing is sent.

        Example:
            >>> order.update_plan(Order.status.set("PAID")).compile()["UpdateExpression"]
            ... # doctest: +SKIP
            'SET #n0 = :v0, ...'
        """
        instance = _self(self)
        return updates.update_plan(
            type(instance),
            instance.item_key,
            actions,
            condition=condition,
            instance=instance,
            return_values=return_values,
        )

    @overload
    @classmethod
    def update_by_key_plan(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = ...,
        return_values: _New = ...,
    ) -> WritePlan[Self]: ...
    @overload
    @classmethod
    def update_by_key_plan(
        cls, key: ItemKey, *actions: Action, condition: Condition | None = ..., return_values: _Old
    ) -> WritePlan[Self | None]: ...
    @overload
    @classmethod
    def update_by_key_plan(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = ...,
        return_values: _Nothing,
    ) -> WritePlan[None]: ...
    @overload
    @classmethod
    def update_by_key_plan(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = ...,
        return_values: _Changed,
    ) -> WritePlan[dict[str, Any]]: ...
    @classmethod
    def update_by_key_plan(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = None,
        return_values: ReturnValues = "ALL_NEW",
    ) -> WritePlan[Any]:
        """The ``UpdateItem`` :meth:`update_by_key` sends, compiled and not sent.

        Example:
            >>> Product.update_by_key_plan(Product.key(sku="s1"), Product.stock.add(-2),
            ...                            condition=Product.stock >= 2).compile()
            ... # doctest: +SKIP
        """
        return updates.update_plan(
            _entity(cls), key, actions, condition=condition, return_values=return_values
        )

    @overload
    def update(
        self, *actions: Action, condition: Condition | None = ..., return_values: _New = ...
    ) -> Self: ...
    @overload
    def update(
        self, *actions: Action, condition: Condition | None = ..., return_values: _Old
    ) -> Self | None: ...
    @overload
    def update(
        self, *actions: Action, condition: Condition | None = ..., return_values: _Nothing
    ) -> None: ...
    @overload
    def update(
        self, *actions: Action, condition: Condition | None = ..., return_values: _Changed
    ) -> dict[str, Any]: ...
    def update(
        self,
        *actions: Action,
        condition: Condition | None = None,
        return_values: ReturnValues = "ALL_NEW",
    ) -> Self | dict[str, Any] | None:
        """Change the stored item in place (UpdateItem) and reload this instance from it.

        The version (if any) conditions the update and is incremented; timestamps are set;
        index keys whose templates use a changed attribute are rewritten in the same request
        (from the values set and, for the other fields, this instance).

        Args:
            actions: PynamoDB update actions: ``Order.status.set("PAID")``,
                ``Order.total.add(5)``, ``Order.total.set(Order.total - 1)``,
                ``Order.tags.delete({"x"})``, ``Order.lines.set(Order.lines.append([...]))``,
                ``Order.note.remove()``, ``Order.n.set(Order.n | 0)`` (if_not_exists).
            condition: A condition the stored item must meet.
            return_values: ``"ALL_NEW"`` (this instance), ``"ALL_OLD"`` (the item before, an
                instance or ``None``), ``"NONE"``, or ``"UPDATED_NEW"``/``"UPDATED_OLD"`` (a
                dict of the changed attributes' values, by Python name). With ``ALL_OLD`` and
                ``UPDATED_OLD`` this instance is reloaded by a consistent read.

        Raises:
            VersionConflict: The stored version is not the one this instance holds.
            ConditionFailed: ``condition`` was false, or an attribute an index key was computed
                from changed meanwhile (unversioned entities); carries the stored item.
            ValidationError: The update changes a primary-key field or an attribute dynaorm
                maintains, an index key cannot be computed, or a value cannot be stored.

        Example:
            >>> order.update(Order.status.set("SHIPPED"),
            ...              condition=Order.status == "PAID")  # doctest: +SKIP
        """
        instance = _self(self)
        return updates.update_plan(  # type: ignore[no-any-return]
            type(instance),
            instance.item_key,
            actions,
            condition=condition,
            instance=instance,
            return_values=return_values,
        ).execute()

    @overload
    @classmethod
    def update_by_key(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = ...,
        return_values: _New = ...,
    ) -> Self: ...
    @overload
    @classmethod
    def update_by_key(
        cls, key: ItemKey, *actions: Action, condition: Condition | None = ..., return_values: _Old
    ) -> Self | None: ...
    @overload
    @classmethod
    def update_by_key(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = ...,
        return_values: _Nothing,
    ) -> None: ...
    @overload
    @classmethod
    def update_by_key(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = ...,
        return_values: _Changed,
    ) -> dict[str, Any]: ...
    @classmethod
    def update_by_key(
        cls,
        key: ItemKey,
        *actions: Action,
        condition: Condition | None = None,
        return_values: ReturnValues = "ALL_NEW",
    ) -> Self | dict[str, Any] | None:
        """Update an item by its key without reading it first (UpdateItem; creates a missing
        item, as DynamoDB does, unless ``condition`` forbids it).

        The version (if any) is incremented without being checked; index keys are rewritten
        from the values the actions set and the primary key, so an update that changes an
        attribute an index key uses must set every other attribute that key needs.

        Args:
            key: ``Entity.key(...)`` of the item.
            actions: Update actions, as for :meth:`update`.
            condition: A condition the stored item must meet, e.g.
                ``Product.stock >= 2`` or ``Product.sku.exists()`` (no upsert).
            return_values: As for :meth:`update`.

        Raises:
            ConditionFailed: ``condition`` was false (carries the stored item).
            ValidationError: As for :meth:`update`, or an index key needs an attribute the
                update does not set.

        Example:
            >>> Product.update_by_key(Product.key(sku="s1"), Product.stock.add(-2),
            ...                       condition=Product.stock >= 2)  # doctest: +SKIP
        """
        return updates.update_plan(  # type: ignore[no-any-return]
            _entity(cls), key, actions, condition=condition, return_values=return_values
        ).execute()

    @classmethod
    def mutate(
        cls,
        fn: Callable[[Self], object],
        /,
        *,
        attempts: int | None = None,
        policy: RetryPolicy | None = None,
        on_conflict: Callable[[VersionConflict, int], object] | None = None,
        **key_values: Any,
    ) -> Self:
        """Read-modify-write under optimistic locking: read (consistently), apply ``fn``,
        save; on a version conflict, wait (backoff with jitter), re-read and re-apply.

        Args:
            fn: Changes the instance it is given; its return value is ignored. It may run
                several times, so it should have no other side effects.
            attempts: Attempts in all (overrides ``policy.max_attempts``).
            policy: Backoff between attempts (default: 10 attempts, 10 ms base, 1 s cap).
            on_conflict: Called with each conflict and the attempt number that lost.
            key_values: The item's key attribute values.

        Returns:
            The instance as saved.

        Raises:
            ConfigurationError: The entity has no version attribute (conflicts could not be
                detected, and updates would be lost).
            UnknownEntityType: The item does not exist (a ``LookupError``).
            VersionConflict: Still conflicting after the last attempt (the last conflict).

        Example:
            >>> Account.mutate(lambda a: setattr(a, "balance", a.balance + 5),
            ...                account_id="a1")  # doctest: +SKIP
        """
        return mutate_entity(  # type: ignore[return-value]
            _entity(cls),
            cast("Callable[[Entity], object]", fn),
            key_values,
            attempts=attempts,
            policy=policy,
            on_conflict=on_conflict,
        )
