"""Scatter-gather reads with ``await``: the shard queries run as concurrent asyncio tasks.

The merge is the sync one (:class:`~dynaorm.read.shard_merge.ShardMerge`): it says which
shards to read next and builds their requests (:meth:`~ShardMerge.need`,
:meth:`~ShardMerge.requests`), decodes and buffers their responses (:meth:`~ShardMerge.absorb`,
in shard order, as the sync run does) and hands out items in sort order
(:meth:`~ShardMerge.take`), so results, order, positions and cursors are the sync ones. Only
the sending differs: one task per shard to read (at most ``workers`` requests at once), in a
task group, so an error or a cancellation cancels the other requests at once. No thread is
started.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

from dynaorm.read.async_reads import acount, asend
from dynaorm.read.plan import Plan
from dynaorm.read.shard_merge import ShardMerge

__all__ = ["acount_shards", "aitems"]

T = TypeVar("T")


async def _fill(merge: ShardMerge[Any], need: list[int], want: int | None, workers: int) -> None:
    gate = asyncio.Semaphore(max(1, workers))

    async def one(i: int, request: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return await asend(merge.shards[i].plan, request)

    requests = merge.requests(need, want)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(i, r)) for i, r in zip(need, requests, strict=True)]
    except BaseExceptionGroup as failed:  # the sync run's error: the first shard's
        raise failed.exceptions[0] from None
    for i, task in zip(need, tasks, strict=True):
        merge.absorb(i, task.result())


async def aitems(
    merge: ShardMerge[T], limit: int | None, *, workers: int, one_round: bool = False
) -> AsyncIterator[T]:
    """:meth:`ShardMerge.items <dynaorm.read.shard_merge.ShardMerge.items>` with ``await``."""
    given = 0
    while limit is None or given < limit:
        need = merge.need(one_round=one_round)
        if need is None:
            return
        if need:
            await _fill(merge, need, None if limit is None else limit - given, workers)
            continue
        found, result = merge.take()
        if found:
            given += 1
            yield result  # type: ignore[misc]


async def acount_shards(
    plans: Sequence[Plan[Any]],
    positions: Sequence[Mapping[str, Any] | None],
    done: Sequence[bool],
    cap: int | None,
    workers: int,
) -> int:
    """How many items match across the shards not ``done`` (each counted by a task, at most
    ``workers`` at once), capped by ``cap``."""
    gate = asyncio.Semaphore(max(1, workers))

    async def one(plan: Plan[Any], position: Mapping[str, Any] | None) -> int:
        async with gate:
            return await acount(plan, position, cap)

    todo = [(p, at) for p, at, d in zip(plans, positions, done, strict=True) if not d]
    if cap == 0 or not todo:
        return 0
    try:
        async with asyncio.TaskGroup() as group:
            counts = [group.create_task(one(plan, at)) for plan, at in todo]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    total = sum(task.result() for task in counts)
    return total if cap is None else min(total, cap)
