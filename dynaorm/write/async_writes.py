"""Writes with ``await``: a :class:`~dynaorm.write.plans.WritePlan` sent through the async
transport (``instance.asave()``, ``adelete()``, ``aupdate()``, ``Entity.aupdate_by_key()``),
and read-modify-write retried on conflicts (``Entity.amutate()``, :func:`aretry_on_conflict`)
under the sync loop's own decisions (:class:`~dynaorm.write.mutate.ConflictRetries`),
waiting with ``asyncio.sleep``.

The plan is the very one the sync method builds (every check made, nothing sent, before the
first ``await``); it is sent the async way and finished by the plan itself, so versions,
conflicts, index keys and what is returned are the sync call's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dynaorm.base.errors import ConditionFailed, DynaormError, VersionConflict
from dynaorm.read.async_reads import send
from dynaorm.wire.translate import root_cause
from dynaorm.write.failures import failure_read, observed_by_read
from dynaorm.write.mutate import ConflictRetries, check_mutable, missing_item
from dynaorm.write.plans import WritePlan

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.wire.retry import RetryPolicy

__all__ = ["aexecute", "amutate_entity", "aretry_on_conflict"]

R = TypeVar("R")
E = TypeVar("E", bound="Entity")


async def aexecute(plan: WritePlan[R]) -> R:
    """:meth:`WritePlan.execute <dynaorm.write.plans.WritePlan.execute>` with ``await``.

    Raises:
        VersionConflict: The stored version is not the one the plan expected.
        ConditionFailed: A condition was false (carries the stored item).
    """
    transport = plan.binding.transport
    try:
        response = await send(transport, plan.operation, plan.compile(), idempotent=plan.idempotent)
    except ConditionFailed as exc:
        observed = None
        if not exc.item:  # the server did not return the stored item: read it
            request = failure_read(plan.key, plan.binding)
            try:
                found = await send(transport, "GetItem", request, idempotent=True)
            except DynaormError:
                observed = (None, "unknown")
            else:
                observed = observed_by_read(plan.entity, found)
        raise plan.failure(exc, observed) from root_cause(exc)
    stored = None
    read_back = plan.read_back_request()
    if read_back is not None:
        stored = await send(transport, "GetItem", read_back, idempotent=True)
    return plan.finish(response, stored)


async def aretry_on_conflict(
    fn: Callable[[], Awaitable[R]],
    *,
    attempts: int | None = None,
    policy: RetryPolicy | None = None,
    on_conflict: Callable[[Any, int], object] | None = None,
    retry_on: type[Exception] | tuple[type[Exception], ...] = VersionConflict,
) -> R:
    """:func:`~dynaorm.retry_on_conflict` with ``await``: ``fn`` is a coroutine function
    (the whole read-modify-write), awaited until it does not raise a conflict.

    Raises:
        VersionConflict: The last conflict (or exception of ``retry_on``) once the attempts
            are used up.
        ValidationError: ``attempts`` is less than 1, or ``retry_on`` is an empty tuple.

    Example:
        >>> async def deposit() -> Account:
        ...     account = await Account.aget(account_id="a1", consistent=True)
        ...     account.balance += 5
        ...     await account.asave()
        ...     return account
        >>> await aretry_on_conflict(deposit, attempts=20)  # doctest: +SKIP
    """
    retries = ConflictRetries(attempts, policy, on_conflict, retry_on)
    while True:
        try:
            return await fn()
        except retries.retried as conflict:
            delay = retries.lost(conflict)
            if delay is None:
                raise
        await asyncio.sleep(delay)


async def amutate_entity(
    entity: type[E],
    fn: Callable[[E], object],
    key_values: Mapping[str, Any],
    *,
    attempts: int | None,
    policy: RetryPolicy | None,
    on_conflict: Callable[[VersionConflict, int], object] | None,
) -> E:
    """:func:`~dynaorm.write.mutate.mutate_entity` with ``await`` (``Entity.amutate``)."""
    check_mutable(entity)
    key = entity.key(**key_values)

    async def attempt() -> E:
        instance = await entity.aget(consistent=True, **key_values)
        if instance is None:
            raise missing_item(key)
        fn(instance)
        await instance.asave()
        return instance

    return await aretry_on_conflict(
        attempt, attempts=attempts, policy=policy, on_conflict=on_conflict
    )
