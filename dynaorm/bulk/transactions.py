"""``table.transaction()`` and ``table.transact_get()``: all-or-nothing writes and reads.

A :class:`Transaction` collects actions (put, update, delete, check) and sends them as one
``TransactWriteItems`` request when its ``with`` block ends without an exception. Everything
DynamoDB would reject is checked as each action is added, before any request: at most 100
actions, at most 4 MB, one action per item, items of at most 400 KB.
"""

from __future__ import annotations

import logging
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from dynaorm.base.errors import (
    EndpointUnavailable,
    ServiceError,
    TransactionCanceled,
    ValidationError,
)
from dynaorm.base.limits import TRANSACTION_ACTION_LIMIT, TRANSACTION_SIZE_LIMIT
from dynaorm.base.sizes import item_size, value_size
from dynaorm.bulk.batching import PhysicalKey, check_entity_class, key_tuple
from dynaorm.bulk.transaction_parts import ActionKind, TransactionAction, canceled
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.entity import EntityBase
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import Retrier, RetryPolicy
from dynaorm.wire.translate import root_cause
from dynaorm.write.plans import WritePlan, conditioned_key, delete_plan, put_plan
from dynaorm.write.prepare import NO_CHANGES
from dynaorm.write.updates import update_plan

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table


__all__ = ["IN_PROGRESS", "Transaction"]

logger = logging.getLogger("dynaorm")

TOKEN_MAX_LENGTH = 36
IN_PROGRESS = frozenset({"TransactionInProgressException"})


def _check_token(token: str | None) -> str:
    if token is None:
        return str(uuid.uuid4())
    if not isinstance(token, str) or not 1 <= len(token) <= TOKEN_MAX_LENGTH:
        raise ValidationError(
            f"transaction token {token!r}: a ClientRequestToken is 1 to {TOKEN_MAX_LENGTH} "
            "characters; use a short business id (e.g. 'place-o1') or leave it out"
        )
    return token


class Transaction:
    """Actions applied together or not at all (``TransactWriteItems``).

    Use it through :meth:`Table.transaction <dynaorm.Table.transaction>`. The block's actions
    are sent when it ends, and only if it ends without an exception.

    * **Versions**: a versioned entity instance is conditioned on the version it holds (on
      the item not existing, when it holds none), and puts and updates write the next
      version. The instances get their new versions (and ``save()``-style timestamps) only
      after the commit succeeded. An update or delete by :class:`ItemKey` carries no version
      condition; an update by key still increments the stored version. An update does not
      bring the instance's other attributes up to date (transactions return no items):
      ``refresh()`` it when you need them.
    * **Idempotency**: the request carries a ClientRequestToken (``token``, or a generated
      UUID). A commit whose response was lost (broken connection, server fault, throttling)
      is re-sent with the same token, so DynamoDB applies it once; a later transaction with
      the same token and the same actions within 10 minutes is a no-op. Local servers (moto,
      dynalite) ignore tokens: there, a re-sent transaction is applied again.
    * **One table**: the transaction is bound to the table as it is when it is opened (its
      ``table.override(...)``, if any) — when its ``with`` block is entered, or when it is
      made if it is used without one: every action and the commit go there, wherever they
      are added or committed from.
    * **Failures**: :class:`~dynaorm.TransactionCanceled` with one
      :class:`CancellationReason` per action in ``.reasons`` (action, entity, code, message,
      the stored item for a failed condition). Nothing was written.

    Args:
        table: The table every action's entity belongs to.
        token: The ClientRequestToken (1-36 characters); generated when ``None``.
        policy: Retry policy for the commit; the table's ``retry_policy`` when ``None``.

    Raises:
        ValidationError: The token is not 1-36 characters.

    Example:
        >>> with shop.transaction(token="place-o1") as tx:  # doctest: +SKIP
        ...     tx.update(Product.key(sku="s1"), Product.stock.add(-2),
        ...               condition=Product.stock >= 2)
        ...     tx.put(order)
    """

    def __init__(
        self, table: Table, *, token: str | None = None, policy: RetryPolicy | None = None
    ) -> None:
        self.table = table
        # Every action and the commit go to the table as it is now (its override, if any),
        # or as it is when the ``with`` block is entered, wherever they are sent from.
        self._bound = bind(table)
        self.token = _check_token(token)
        self.policy = policy or table.retry_policy
        self.state: Literal["open", "committed", "failed", "discarded"] = "open"
        self._actions: list[TransactionAction] = []
        self._keys: dict[PhysicalKey, TransactionAction] = {}
        self._size = 0

    @property
    def actions(self) -> tuple[TransactionAction, ...]:
        """The actions so far, in order."""
        return tuple(self._actions)

    @property
    def size(self) -> int:
        """Bytes the actions count toward the 4 MB limit (items, keys, expression values)."""
        return self._size

    # -- actions ---------------------------------------------------------------------------

    def put(self, entity: Entity, *, condition: Condition | None = None) -> None:
        """Write ``entity`` whole, replacing any stored item (the ``Put`` of
        ``entity.save_plan(condition=condition)``).

        Args:
            entity: An entity instance of this table.
            condition: Must hold on the stored item (ANDed with the version condition).

        Raises:
            ValidationError: See the class; also invalid attributes or an item over 400 KB.
        """
        if not isinstance(entity, EntityBase):
            raise ValidationError(
                f"transaction.put() takes an entity instance, not {type(entity).__name__}; "
                "use update() or delete() for an ItemKey"
            )
        key = self._key_of(entity, "put")
        plan = put_plan(entity, condition, bound=self._bound)
        self._add(key, entity, plan.transact_item(), plan)

    def update(
        self,
        target: Entity | ItemKey,
        *actions: Action,
        condition: Condition | None = None,
    ) -> None:
        """Change attributes of one item (``Update``), creating it if it does not exist.

        Args:
            target: An entity instance (versioned ones are conditioned on their version) or
                an :class:`ItemKey`.
            actions: PynamoDB update actions, e.g. ``Product.stock.add(-1)``.
            condition: Must hold on the stored item.

        Raises:
            ValidationError: No actions; an action changes a key or an attribute an index key
                is built from (put the whole entity instead); see also the class.
        """
        key = self._key_of(target, "update")
        instance = target if isinstance(target, EntityBase) else None
        plan = update_plan(
            key.entity, key, actions, condition=condition, instance=instance, bound=self._bound
        )
        self._add(key, target, plan.transact_item(), plan)

    def delete(self, target: Entity | ItemKey, *, condition: Condition | None = None) -> None:
        """Delete one item (a missing item is not an error unless a condition says so).

        Raises:
            ValidationError: See the class.
        """
        key = self._key_of(target, "delete")
        instance = target if isinstance(target, EntityBase) else None
        plan = delete_plan(key.entity, key, condition, instance=instance, bound=self._bound)
        self._add(key, target, plan.transact_item(), plan)

    def check(self, target: Entity | ItemKey, condition: Condition | None = None) -> None:
        """Require ``condition`` to hold on an item that the transaction does not write.

        A versioned entity instance also requires its version to be unchanged, so
        ``tx.check(customer)`` alone asserts "nobody changed this customer since I read it".

        Raises:
            ValidationError: No condition (and no version to check); see also the class.
        """
        key = self._key_of(target, "check")
        instance = target if isinstance(target, EntityBase) else None
        request, expected = conditioned_key(
            key.entity, key, condition, instance=instance, bound=self._bound
        )
        if "ConditionExpression" not in request:
            raise ValidationError(
                f"transaction.check({key.entity.__qualname__} {dict(key.key)}) needs a "
                "condition (or a versioned entity instance)"
            )
        self._add(key, target, {"ConditionCheck": request}, expected=expected)

    # -- pre-flight and commit -------------------------------------------------------------

    def _key_of(self, target: Entity | ItemKey, verb: str) -> ItemKey:
        if self.state != "open":
            raise ValidationError(f"this transaction is {self.state}; start a new one")
        key = _item_key(target, f"transaction.{verb}()")
        check_entity_class(self.table, key.entity, f"transaction.{verb}()")
        if len(self._actions) >= TRANSACTION_ACTION_LIMIT:
            raise ValidationError(
                f"a transaction takes at most {TRANSACTION_ACTION_LIMIT} actions; "
                f"{verb} of {key.entity.__qualname__} {dict(key.key)} would be action "
                f"{len(self._actions) + 1}. Split the work into several transactions"
            )
        earlier = self._keys.get(key_tuple(key))
        if earlier is not None:
            raise ValidationError(
                f"transaction.{verb}(): {key.entity.__qualname__} {dict(key.key)} is already "
                f"the target of {earlier.describe()}; DynamoDB allows one action per item in a "
                "transaction. Combine the changes into one action"
            )
        return key

    def _add(
        self,
        key: ItemKey,
        target: Entity | ItemKey,
        part: dict[str, Any],
        plan: WritePlan[Any] | None = None,
        *,
        expected: int | None = None,
    ) -> None:
        """Add the action ``part`` (``{"Put": request}``, ...), made from ``plan`` (or a
        ``ConditionCheck`` conditioned on ``expected``)."""
        ((kind, request),) = part.items()
        size = _size(request)
        if self._size + size > TRANSACTION_SIZE_LIMIT:
            raise ValidationError(
                f"transaction: {kind} of {key.entity.__qualname__} {dict(key.key)} "
                f"({size:,} bytes) would bring the transaction to {self._size + size:,} bytes; "
                f"DynamoDB allows {TRANSACTION_SIZE_LIMIT:,}. Split the work"
            )
        changes = plan.changes if plan is not None else NO_CHANGES
        action = TransactionAction(
            index=len(self._actions),
            kind=cast(ActionKind, kind),
            key=key,
            target=target,
            request=request,
            expected_version=plan.expected_version if plan is not None else expected,
            new_version=changes.version,
            stamped=next(iter(changes.stamps.values()), None),
            plan=plan,
        )
        self._actions.append(action)
        self._keys[key_tuple(key)] = action
        self._size += size

    def compile(self) -> dict[str, Any]:
        """The exact ``TransactWriteItems`` request :meth:`commit` sends."""
        return {
            "TransactItems": [{a.kind: a.request} for a in self._actions],
            "ClientRequestToken": self.token,
        }

    def commit(self) -> None:
        """Send the actions (the ``with`` block does this when it ends without an exception).

        Raises:
            TransactionCanceled: A condition failed or the transaction conflicted with another
                one; nothing was written. ``.reasons`` maps the reasons to the actions.
            EndpointUnavailable: The connection failed and retries ran out: the transaction
                may or may not have been applied; re-send the same actions with the same
                token within 10 minutes to apply it at most once.
            ValidationError: The transaction was committed or discarded already.
        """
        retrier = self._begin()
        if retrier is None:
            return
        try:
            self._bound.transport.call(
                "TransactWriteItems",
                self.compile(),
                idempotent=True,
                retrier=retrier,
                retry_codes=IN_PROGRESS,
            )
        except TransactionCanceled as exc:
            raise self._canceled(exc, retrier) from root_cause(exc)
        except (EndpointUnavailable, ServiceError) as exc:
            self._unknown(exc, retrier)
            raise
        self._committed()

    # The steps of a commit around its one request, shared with AsyncTransaction.acommit.

    def _begin(self) -> Retrier | None:
        """Start the commit: the retry budget of its request (``None``: nothing to send)."""
        if self.state != "open":
            raise ValidationError(f"this transaction is {self.state}; start a new one")
        if not self._actions:
            self.state = "committed"
            return None
        self.state = "failed"
        return Retrier(
            self.policy, f"TransactWriteItems on {self._bound.name!r} (token {self.token!r})"
        )

    def _canceled(self, exc: TransactionCanceled, retrier: Retrier) -> TransactionCanceled:
        """The error to raise for a cancelled commit (reasons mapped to the actions)."""
        error = canceled(self.table, "TransactWriteItems", self._actions, exc)
        if retrier.requests > 1:
            error.add_note(
                f"transaction token {self.token!r}: sent {retrier.requests} times; if an "
                "earlier send's response was lost, a server that ignores tokens may have "
                "applied it (check the stored items)"
            )
        return error

    def _unknown(self, exc: EndpointUnavailable | ServiceError, retrier: Retrier) -> None:
        """Note on ``exc`` that the commit's outcome is unknown, when it is."""
        if retrier.requests > 1 or isinstance(exc, EndpointUnavailable):
            exc.add_note(
                f"transaction token {self.token!r}: the outcome is unknown; re-send the "
                "same actions with this token within 10 minutes to apply them at most once"
            )

    def _committed(self) -> None:
        self.state = "committed"
        for action in self._actions:
            action.applied()

    def _open(self) -> None:
        if not self._actions:  # opened here: bound to the table as the block sees it
            self._bound = bind(self.table)

    def _closing(self, exc: BaseException | None) -> bool:
        """Whether the block's end commits (else the transaction is discarded)."""
        if self.state != "open":
            return False
        if exc is None:
            return True
        self.state = "discarded"
        logger.debug(
            "transaction on %r discarded (%d action(s) not sent): the block raised %s",
            self._bound.name,
            len(self._actions),
            type(exc).__name__,
        )
        return False

    def __enter__(self) -> Transaction:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closing(exc):
            self.commit()


def _item_key(target: object, what: str) -> ItemKey:
    if isinstance(target, EntityBase):
        return target.item_key
    if isinstance(target, ItemKey):
        return target
    raise ValidationError(f"{what} takes an entity or an ItemKey, not {type(target).__name__}")


def _size(request: dict[str, Any]) -> int:
    if "Item" in request:
        return item_size(request["Item"])
    values = request.get("ExpressionAttributeValues", {})
    expressions = sum(
        len(str(request.get(name, "")).encode())
        for name in ("ConditionExpression", "UpdateExpression")
    )
    return item_size(request["Key"]) + sum(value_size(v) for v in values.values()) + expressions
