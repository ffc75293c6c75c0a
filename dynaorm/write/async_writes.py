"""Writes with ``await``: a :class:`~dynaorm.write.plans.WritePlan` sent through the async
transport (``instance.asave()``, ``adelete()``, ``aupdate()``, ``Entity.aupdate_by_key()``).

The plan is the very one the sync method builds (every check made, nothing sent, before the
first ``await``); it is sent the async way and finished by the plan itself, so versions,
conflicts, index keys and what is returned are the sync call's.
"""

from __future__ import annotations

from typing import TypeVar

from dynaorm.base.errors import ConditionFailed, DynaormError
from dynaorm.read.async_reads import send
from dynaorm.wire.translate import root_cause
from dynaorm.write.failures import failure_read, observed_by_read
from dynaorm.write.plans import WritePlan

__all__ = ["aexecute"]

R = TypeVar("R")


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
