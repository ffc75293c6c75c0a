"""Write plans: one write of one item, compiled before anything is sent.

A :class:`WritePlan` is what ``entity.save_plan()``, ``entity.delete_plan()``,
``entity.update_plan(...)`` and ``Entity.update_by_key_plan(key, ...)`` return, and what
``save()``, ``delete()``, ``update()`` and ``update_by_key()`` run. It holds the exact request
(:meth:`WritePlan.compile`), how to read the answer, and what the instance gets once the write
succeeded; :meth:`WritePlan.execute` sends it. Transactions and batches take their parts from
plans too (:meth:`WritePlan.transact_item`, :meth:`WritePlan.batch_request`), so a write is
built one way whichever way it is sent.

Example:
    >>> plan = order.save_plan(condition=Order.status == "NEW")  # doctest: +SKIP
    >>> plan.compile()["ConditionExpression"]  # doctest: +SKIP
    '#n0 = :v0'
    >>> plan.execute()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs
from pynamodb.expressions.condition import Condition

from dynaorm.base.errors import ConditionFailed, ValidationError
from dynaorm.expressions.compile import conjoin
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.versions import version_condition
from dynaorm.wire.connection import TableBinding, bind
from dynaorm.wire.translate import root_cause
from dynaorm.write.changes import check_condition_values
from dynaorm.write.failures import condition_error
from dynaorm.write.prepare import NO_CHANGES, InstanceChanges, condition_members, prepare_put

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = [
    "READ_BACK",
    "WriteOperation",
    "WritePlan",
    "conditioned_key",
    "delete_plan",
    "put_plan",
]

R = TypeVar("R")

WriteOperation = Literal["PutItem", "DeleteItem", "UpdateItem"]

_TRANSACT_KIND = {"PutItem": "Put", "DeleteItem": "Delete", "UpdateItem": "Update"}
# Members of a single-item request that a TransactWriteItems part does not take.
_NOT_TRANSACTED = frozenset(
    {"ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics"}
)


# The member a read-back item is handed to a plan's finisher under (never a response member).
READ_BACK = "dynaorm:read-back"


def _fresh(value: Any) -> Any:
    """A copy of a request's nested dicts and lists (the leaves are immutable)."""
    if type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if type(value) is list:
        return [_fresh(v) for v in value]
    return value


@attrs.frozen(eq=False, kw_only=True)
class WritePlan(Generic[R]):
    """One write of one item (``PutItem``, ``DeleteItem`` or ``UpdateItem``), compiled.

    Build it with ``entity.save_plan()``, ``entity.delete_plan()``,
    ``entity.update_plan(*actions)`` or ``Entity.update_by_key_plan(key, *actions)``; they
    take what ``save()``, ``delete()``, ``update()`` and ``update_by_key()`` take (those
    methods build a plan and execute it). Everything is checked when the plan is made
    (``ValidationError``, nothing sent), and the plan never changes the instance: only
    :meth:`execute` does, after the write succeeded.

    * :meth:`compile` returns the exact request parameters :meth:`execute` sends (no I/O).
    * :meth:`execute` sends it through the table's transport and applies the result to the
      instance as the method it mirrors does (the new version and timestamps of a save; an
      update reloads the instance from the stored item), returning what that method returns.
    * The plan is bound to the table as it is when the plan is made (its
      ``table.override(...)``, if any): :meth:`execute` sends there, wherever it runs.
    * Timestamps and the next version are fixed when the plan is made: executing it twice
      writes the same item twice (a versioned plan then conflicts with its own first write).

    Attributes:
        operation: ``"PutItem"``, ``"DeleteItem"`` or ``"UpdateItem"``.
        entity: The entity class written.
        key: The item's key.
        instance: The instance the write is made through (``None`` by key).
        changes: What the instance gets once the write succeeded: a put's new version and
            timestamps; an update's new version (applied by a transaction's commit; a single
            update reloads the instance instead); nothing for a delete.
        expected_version: The version the write is conditioned on (``None``: none, or the
            item must not exist yet).

    Example:
        >>> plan = order.update_plan(Order.status.set("PAID"))  # doctest: +SKIP
        >>> plan.operation, plan.compile()["ReturnValues"]  # doctest: +SKIP
        ('UpdateItem', 'ALL_NEW')
        >>> plan.execute() is order  # doctest: +SKIP
        True
    """

    operation: WriteOperation
    entity: type[Entity]
    key: ItemKey
    instance: Entity | None
    changes: InstanceChanges
    expected_version: int | None
    _request: dict[str, Any]
    _binding: TableBinding
    _versioned: bool
    _idempotent: bool
    _finish: Callable[[dict[str, Any]], R]
    _guards: Mapping[str, Any] = attrs.field(factory=dict)

    def compile(self) -> dict[str, Any]:
        """The exact request :meth:`execute` sends, as a new dict (changing it changes
        nothing in the plan).

        Example:
            >>> note.delete_plan().compile()  # doctest: +SKIP
            {'TableName': 'notes', 'Key': {'PK': {'S': 'NOTE#n1'}, 'SK': {'S': 'NOTE'}}}
        """
        request: dict[str, Any] = _fresh(self._request)
        return request

    def transact_item(self) -> dict[str, Any]:
        """The plan as one member of a ``TransactWriteItems`` request: ``{"Put": ...}``,
        ``{"Update": ...}`` or ``{"Delete": ...}``, holding the request without the members
        a transaction does not take (``ReturnValues``).

        The values are shared with the plan, not copied: change a :meth:`compile` copy
        instead.

        Example:
            >>> order.save_plan().transact_item()["Put"]["Item"]["PK"]  # doctest: +SKIP
            {'S': 'CUSTOMER#c1'}
        """
        members = {k: v for k, v in self._request.items() if k not in _NOT_TRANSACTED}
        return {_TRANSACT_KIND[self.operation]: members}

    def batch_request(self) -> dict[str, Any]:
        """The plan as one member of a ``BatchWriteItem`` request: ``{"PutRequest": {"Item":
        ...}}`` or ``{"DeleteRequest": {"Key": ...}}`` (shared with the plan, as
        :meth:`transact_item`'s are).

        Raises:
            ValidationError: The plan is an update or carries a condition (a version
                condition too): ``BatchWriteItem`` takes neither.

        Example:
            >>> plain.save_plan().batch_request()["PutRequest"]["Item"]["PK"]  # doctest: +SKIP
            {'S': 'PLAIN#p1'}
        """
        request = self._request
        if self.operation == "UpdateItem" or "ConditionExpression" in request:
            raise ValidationError(
                f"{self.entity.__qualname__} {dict(self.key.key)}: a BatchWriteItem request "
                f"takes only unconditional puts and deletes, not this {self.operation}; send "
                "it with execute() or in a transaction"
            )
        if self.operation == "PutItem":
            return {"PutRequest": {"Item": request["Item"]}}
        return {"DeleteRequest": {"Key": request["Key"]}}

    def execute(self) -> R:
        """Send the request and apply the result to the instance; returns what the method
        the plan mirrors returns (``None`` for a save or a delete).

        Raises:
            VersionConflict: The stored version is not the one the plan expected (the
                instance is left as it was).
            ConditionFailed: A condition was false (carries the stored item).

        Example:
            >>> order.save_plan().execute()  # doctest: +SKIP
        """
        try:
            response = self._binding.transport.call(
                self.operation, self._request, idempotent=self._idempotent
            )
        except ConditionFailed as exc:
            raise self.failure(exc) from root_cause(exc)
        stored = None
        read_back = self.read_back_request()
        if read_back is not None:
            stored = self._binding.transport.call("GetItem", read_back, idempotent=True)
        return self.finish(response, stored)

    # -- the parts of execute() around its I/O, shared with the async path ------------------

    @property
    def binding(self) -> TableBinding:
        """The table the plan writes to."""
        return self._binding

    @property
    def idempotent(self) -> bool:
        """Whether sending the request twice has the effect of sending it once."""
        return self._idempotent

    def failure(
        self, exc: ConditionFailed, observed: tuple[Any, str] | None = None
    ) -> ConditionFailed:
        """The error to raise when the server refused the write's condition (``observed``:
        the stored item as the caller read it; see :func:`~dynaorm.write.failures.
        condition_error`)."""
        return condition_error(
            self.entity,
            self.key,
            exc,
            expected=self.expected_version,
            versioned=self._versioned,
            guards=self._guards,
            bound=self._binding,
            observed=observed,
        )

    def read_back_request(self) -> dict[str, Any] | None:
        """The consistent GetItem to send after the write succeeded, when the instance is
        reloaded from the stored item (an update through an instance whose response does not
        hold the whole new item); ``None`` otherwise."""
        if (
            self.instance is None
            or self.operation != "UpdateItem"
            or self._request.get("ReturnValues") == "ALL_NEW"
        ):
            return None
        return {
            "TableName": self._binding.name,
            "Key": self.key.to_request(),
            "ConsistentRead": True,
        }

    def finish(self, response: dict[str, Any], stored: dict[str, Any] | None = None) -> R:
        """Apply a successful response to the instance and return what :meth:`execute`
        returns (``stored``: the response of :meth:`read_back_request`, if one is due)."""
        if stored is not None:
            return self._finish({**response, READ_BACK: stored.get("Item")})
        return self._finish(response)


def put_plan(
    instance: Entity,
    condition: Condition | None = None,
    *,
    versioning: bool = True,
    stamping: bool = True,
    bound: TableBinding | None = None,
) -> WritePlan[None]:
    """The ``PutItem`` of ``instance`` whole; see :meth:`Entity.save` and
    :func:`~dynaorm.write.prepare.prepare_put` (``versioning``, ``stamping``).

    Args:
        instance: The instance to write.
        condition: A condition the stored item must meet.
        versioning: See :func:`~dynaorm.write.prepare.prepare_put`.
        stamping: See :func:`~dynaorm.write.prepare.prepare_put`.
        bound: The table to write to (a batch's or transaction's); the table as the current
            context sees it when ``None``.
    """
    prepared = prepare_put(instance, condition, versioning=versioning, stamping=stamping)
    entity = type(instance)
    table = entity.__table__
    bound = bound or bind(table)
    item = prepared.item
    request: dict[str, Any] = {"TableName": bound.name, "Item": item}
    request.update(condition_members(prepared.condition))
    changes = prepared.changes

    def finish(response: dict[str, Any]) -> None:
        changes.apply(instance)

    return WritePlan(
        operation="PutItem",
        entity=entity,
        key=ItemKey(entity, {n: item[n]["S"] for n in (table.pk, table.sk) if n is not None}),
        instance=instance,
        changes=changes,
        expected_version=prepared.expected,
        request=request,
        binding=bound,
        versioned=versioning and entity.__version_attribute__ is not None,
        idempotent=prepared.condition is None,
        finish=finish,
    )


def conditioned_key(
    entity: type[Entity],
    key: ItemKey,
    condition: Condition | None,
    *,
    instance: Entity | None,
    bound: TableBinding,
) -> tuple[dict[str, Any], int | None]:
    """``TableName``, ``Key`` and the condition (an instance's version condition ANDed with
    ``condition``): a ``DeleteItem`` request, or a transaction's ``ConditionCheck``.

    Returns:
        The request and the version it is conditioned on.
    """
    locked, expected = version_condition(instance) if instance is not None else (None, None)
    check_condition_values(entity, condition)
    request: dict[str, Any] = {"TableName": bound.name, "Key": key.to_request()}
    request.update(condition_members(conjoin(locked, condition)))
    return request, expected


def _nothing(response: dict[str, Any]) -> None:
    return None


def delete_plan(
    entity: type[Entity],
    key: ItemKey,
    condition: Condition | None = None,
    *,
    instance: Entity | None = None,
    bound: TableBinding | None = None,
) -> WritePlan[None]:
    """The ``DeleteItem`` of the item ``key``; through ``instance``, conditioned on its
    version. See :meth:`Entity.delete`."""
    bound = bound or bind(entity.__table__)
    request, expected = conditioned_key(entity, key, condition, instance=instance, bound=bound)
    return WritePlan(
        operation="DeleteItem",
        entity=entity,
        key=key,
        instance=instance,
        changes=NO_CHANGES,
        expected_version=expected,
        request=request,
        binding=bound,
        versioned=instance is not None and entity.__version_attribute__ is not None,
        idempotent="ConditionExpression" not in request,
        finish=_nothing,
    )
