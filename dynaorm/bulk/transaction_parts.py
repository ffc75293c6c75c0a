"""Pieces of a transaction: its actions, update requests, and cancellation reasons mapped back
to the actions and entities they concern."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import TransactionCanceled
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.entity import EntityBase
from dynaorm.write.failures import decode_item

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.write.plans import WritePlan

__all__ = ["ActionKind", "CancellationReason", "TransactionAction", "canceled"]

ActionKind = Literal["Put", "Update", "Delete", "ConditionCheck", "Get"]


def _describe(index: int, kind: str, key: ItemKey) -> str:
    return f"action {index} ({kind} {key.entity.__qualname__} {dict(key.key)})"


@attrs.frozen
class TransactionAction:
    """One action of a transaction, as it will be sent.

    Attributes:
        index: Position in the transaction (0-based), as in ``TransactItems``.
        kind: ``"Put"``, ``"Update"``, ``"Delete"``, ``"ConditionCheck"`` (or ``"Get"`` in
            :meth:`~dynaorm.Table.transact_get`).
        key: The item's key.
        target: The entity instance or :class:`ItemKey` the action was given.
        request: The action's member of ``TransactItems`` (e.g. the ``Put`` request).
        expected_version: The version the action is conditioned on, if any.
        new_version: The version the instance gets once the transaction committed.
        stamped: The time a put stamps the instance's timestamps with, once committed
            (``None`` when the entity has none).
        plan: The :class:`~dynaorm.WritePlan` the action was made from (``None`` for a
            check or a get); ``request`` is its request without what a transaction does not
            take (:meth:`~dynaorm.WritePlan.transact_item`).
    """

    index: int
    kind: ActionKind
    key: ItemKey
    target: Entity | ItemKey
    request: dict[str, Any]
    expected_version: int | None = None
    new_version: int | None = None
    stamped: datetime | None = None
    plan: WritePlan[Any] | None = None

    def describe(self) -> str:
        """``action 2 (Update Product {'PK': 'PRODUCT#s1'})`` for messages."""
        return _describe(self.index, self.kind, self.key)

    def applied(self) -> None:
        """Bring the instance up to date after the commit: new version, put timestamps."""
        if self.plan is not None and isinstance(self.target, EntityBase):
            self.plan.changes.apply(self.target)


@attrs.frozen
class CancellationReason:
    """Why DynamoDB cancelled a transaction, for one of its actions.

    Attributes:
        index: The action's position (0-based).
        kind: The action's kind (``"Put"``, ``"Update"``, ...).
        key: The action's item key.
        target: The entity instance or :class:`ItemKey` the action was given.
        code: ``"None"`` when this action was fine; otherwise e.g.
            ``"ConditionalCheckFailed"``, ``"TransactionConflict"``, ``"ThrottlingError"``,
            ``"ValidationError"``, ``"ItemCollectionSizeLimitExceeded"``.
        message: The server's message ('' when none).
        item: For a failed condition, the item as stored (an entity instance; the raw item if
            it is of another type; ``None`` when there is no item or the server did not say).
        version_conflict: A failed condition of a versioned action whose stored version is
            not the expected one (another writer got there first).

    Example:
        >>> try:  # doctest: +SKIP
        ...     with shop.transaction() as tx: ...
        ... except TransactionCanceled as exc:
        ...     for reason in exc.reasons:
        ...         if reason.failed:
        ...             print(reason.index, reason.code, reason.item)
    """

    index: int
    kind: ActionKind
    key: ItemKey
    target: Entity | ItemKey
    code: str
    message: str = ""
    item: Any = None
    version_conflict: bool = False

    @property
    def failed(self) -> bool:
        """True when this action is a reason for the cancellation."""
        return self.code not in ("", "None")

    def describe(self) -> str:
        """``action 1 (Update Product {...}): ConditionalCheckFailed`` for messages."""
        text = f"{_describe(self.index, self.kind, self.key)}: {self.code}"
        if self.version_conflict:
            text += " (version conflict)"
        return text


def canceled(
    table: Table,
    operation: str,
    actions: Sequence[TransactionAction],
    exc: TransactionCanceled,
) -> TransactionCanceled:
    """``exc`` again, its raw reasons mapped to :class:`CancellationReason` objects."""
    reasons = []
    for action in actions:
        raw = exc.reasons[action.index] if action.index < len(exc.reasons) else {}
        raw = raw if isinstance(raw, dict) else {}
        code = str(raw.get("Code") or "None")
        item = decode_item(action.key.entity, raw.get("Item"))
        name = action.key.entity.__version_attribute__
        conflict = (
            code == "ConditionalCheckFailed"
            and name is not None
            and isinstance(action.target, EntityBase)
            and action.kind != "Get"
            and getattr(item, name, None) != action.expected_version
        )
        reasons.append(
            CancellationReason(
                index=action.index,
                kind=action.kind,
                key=action.key,
                target=action.target,
                code=code,
                message=str(raw.get("Message") or ""),
                item=item,
                version_conflict=conflict,
            )
        )
    failed = [r for r in reasons if r.failed]
    detail = "; ".join(r.describe() for r in failed) or str(exc)
    hint = ""
    if any(r.code == "TransactionConflict" for r in failed):
        hint = " Another transaction used the same items at the same time; retrying may work."
    message = (
        f"{operation} on {table.name!r} cancelled, nothing was written: {detail}.{hint} "
        "Each action's reason is in .reasons"
    )
    return TransactionCanceled(
        message,
        reasons=reasons,
        code=exc.code,
        operation=exc.operation,
        table=exc.table,
        request_id=exc.request_id,
    )
