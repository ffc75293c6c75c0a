"""Reads with ``await``: one item (``Entity.aget``, ``instance.arefresh``) and the pages of a
query or scan (``query.apage()``, ``async for item in query``, ``query.acount()``).

They build and decode exactly what the sync reads do (:mod:`dynaorm.read.items`, a
:class:`~dynaorm.read.plan.Plan` and its :class:`~dynaorm.read.progress.ReadProgress`,
the same cursors); only the requests go through the async transport
(:mod:`dynaorm.wire.async_transport`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dynaorm.base.errors import ValidationError
from dynaorm.read.items import get_item_request, item_of, reload_from
from dynaorm.read.page import Page
from dynaorm.read.progress import ReadProgress
from dynaorm.wire.rate import charge

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.model.bound_keys import ItemKey
    from dynaorm.model.unknown_items import UnknownItem
    from dynaorm.read.plan import Plan
    from dynaorm.read.reader import Reader
    from dynaorm.wire.retry import Retrier
    from dynaorm.wire.transport import Transport

__all__ = [
    "acount",
    "aget_item",
    "apages",
    "arefresh_entity",
    "aresponses",
    "asend",
    "async_plan",
    "send",
]

T = TypeVar("T")
E = TypeVar("E", bound="Entity")


async def send(
    transport: Transport,
    operation: str,
    request: dict[str, Any],
    *,
    idempotent: bool,
    retrier: Retrier | None = None,
    retry_codes: Collection[str] = (),
) -> dict[str, Any]:
    """Send one request through the async transport over ``transport`` (``retrier`` and
    ``retry_codes`` as for :meth:`Transport.call <dynaorm.wire.transport.Transport.call>`)."""
    from dynaorm.wire.async_transport import async_transport  # needs the "async" extra

    return await async_transport(transport).call(
        operation, request, idempotent=idempotent, retrier=retrier, retry_codes=retry_codes
    )


async def _get(key: ItemKey, consistent: bool) -> dict[str, Any] | None:
    table = key.entity.__table__
    request = get_item_request(key, consistent=consistent)
    response = await send(table.transport, "GetItem", request, idempotent=True)
    item: dict[str, Any] | None = response.get("Item")
    return item


async def aget_item(cls: type[E], key: ItemKey, *, consistent: bool) -> E | None:
    """:func:`~dynaorm.read.items.read_item` with ``await``."""
    return item_of(cls, await _get(key, consistent))


async def arefresh_entity(instance: Entity, *, consistent: bool) -> None:
    """:func:`~dynaorm.read.items.refresh_entity` with ``await``."""
    key = instance.item_key
    reload_from(instance, key, await _get(key, consistent))


def async_plan(reader: Reader[T]) -> Plan[T]:
    """The plan an async read of ``reader`` runs.

    Raises:
        ValidationError: A page of a parallel or resumed scan (they read through
            ``apages()`` or ``async for``).
    """
    if getattr(reader, "_parallel", False) or getattr(reader, "checkpoint", None) is not None:
        raise ValidationError(
            "a parallel or resumed scan reads through apages() or async iteration"
        )
    return reader._plan()


async def asend(plan: Plan[Any], request: dict[str, Any]) -> dict[str, Any]:
    """Send one request of ``plan`` (:meth:`Plan.send <dynaorm.read.plan.Plan.send>` with
    ``await``): after the plan's rate limiter allows it (an awaited sleep), debiting the
    limiter with what the response consumed, as the sync send does."""
    limiter = plan.limiter
    if limiter is not None:
        await limiter.aacquire()
    response = await send(plan.binding.transport, plan.operation, request, idempotent=True)
    charge(limiter, response, consistent=bool(request.get("ConsistentRead")))
    return response


async def apages(
    plan: Plan[T], position: Mapping[str, Any] | None, cap: int | None
) -> AsyncIterator[Page[T]]:
    """:meth:`Plan.stream <dynaorm.read.plan.Plan.stream>` with ``await``: one page per
    response, one request at a time (no read-ahead)."""
    async for items, unknown, after, response in aresponses(plan, position, cap):
        yield plan.page_for(items, unknown, after, response)


async def aresponses(
    plan: Plan[T], position: Mapping[str, Any] | None, cap: int | None
) -> AsyncIterator[tuple[list[T], list[UnknownItem], Mapping[str, Any] | None, dict[str, Any]]]:
    """:meth:`Plan.responses <dynaorm.read.plan.Plan.responses>` with ``await`` (no
    read-ahead): per response, its results, unknown items, the position after them, and the
    response."""
    progress = ReadProgress(plan, position, cap)
    request: dict[str, Any] | None = progress.first
    while request is not None:
        response = await asend(plan, request)
        items, unknown, after, request = progress.take(response)
        yield items, unknown, after, response


async def acount(plan: Plan[Any], position: Mapping[str, Any] | None, cap: int | None) -> int:
    """:meth:`Plan.count <dynaorm.read.plan.Plan.count>` with ``await``."""
    if plan.counting == "read":
        return await _count_results(plan, position, cap)
    if plan.counting == "split" and plan.count_parts is not None:
        typed, untyped = plan.count_parts()
        found = await _count_results(untyped, position, cap)
        if cap is not None and found >= cap:
            return cap
        return found + await acount(typed, position, None if cap is None else cap - found)
    total = 0
    while cap is None or total < cap:
        response = await asend(plan, plan.count_request(position))
        total += int(response.get("Count", 0))
        position = response.get("LastEvaluatedKey")
        if position is None:
            break
    return total if cap is None else min(total, cap)


async def _count_results(
    plan: Plan[Any], position: Mapping[str, Any] | None, cap: int | None
) -> int:
    total = 0
    while cap is None or total < cap:
        response = await asend(plan, plan.request_for(position, None))
        raw: list[dict[str, Any]] = response.get("Items", [])
        items, _, _ = plan.decode_page(raw, None if cap is None else cap - total)
        total += len(items)
        position = response.get("LastEvaluatedKey")
        if position is None:
            break
    return total
