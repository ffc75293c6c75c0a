"""Parallel and resumed scans with ``await``: the segments run as asyncio tasks.

The run is the sync one of :mod:`dynaorm.read.scan_runner` with tasks for threads: the same
plans (one per segment), the same checkpoints (:class:`~dynaorm.read.scan_runner.SegmentRun`
keeps each segment's position as of the pages delivered), responses decoded by the consumer
with the same :func:`~dynaorm.read.scan_runner.deliver` (so the limit, the positions and the
pages are the sync run's), items in segment order within a segment and in no global order
across them. At most ``workers`` segments are read at once, each by a task that hands its
responses over through a bounded queue, so memory stays bounded by a slow consumer.

Leaving the loop, an error, or cancelling the consuming task cancels every segment task at
once (requests in flight and backoff sleeps included). No thread is started.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from dynaorm.read.async_reads import acount, aresponses, asend
from dynaorm.read.plan import Plan
from dynaorm.read.scan_runner import ScanCheckpoint, ScanPage, SegmentRun, deliver

__all__ = ["acount_segments", "aitems", "arun_segments"]

T = TypeVar("T")
_Message = tuple[str, int, Any]
_Delivery = tuple[int, list[Any], list[Any], Mapping[str, Any] | None, dict[str, Any]]


async def arun_segments(
    plans: Sequence[Plan[T]], checkpoint: ScanCheckpoint, workers: int, cap: int | None
) -> AsyncIterator[ScanPage[T]]:
    """:func:`~dynaorm.read.scan_runner.run_segments` with ``await``.

    Raises:
        InvalidCursor: A checkpointed cursor does not belong to its segment of this scan.
    """
    run = SegmentRun(plans, checkpoint)
    if not run.pending or cap == 0:
        return
    if run.numbered:
        source = _in_tasks(plans, run.pending, run.starts, cap, workers)
    else:
        source = _in_line(plans[0], run.starts[0], cap)
    try:
        async for delivery in source:
            yield run.page(*delivery)
    finally:
        await source.aclose()


async def _in_line(
    plan: Plan[Any], position: Mapping[str, Any] | None, cap: int | None
) -> AsyncGenerator[_Delivery, None]:
    async for items, unknown, after, response in aresponses(plan, position, cap):
        yield 0, items, unknown, after, response


async def _read_segments(
    plans: Sequence[Plan[Any]],
    segments: Iterator[int],
    starts: Sequence[Mapping[str, Any] | None],
    channel: asyncio.Queue[_Message],
) -> None:
    """A worker: reads segments one after the other until none is left."""
    for number in segments:
        plan, position = plans[number], starts[number]
        try:
            while True:
                response = await asend(plan, plan.request_for(position, None))
                await channel.put(("page", number, response))
                position = response.get("LastEvaluatedKey")
                if position is None:
                    break
        except Exception as exc:  # handed to the consumer, which raises it
            await channel.put(("error", number, exc))
            return
        await channel.put(("end", number, None))


async def _in_tasks(
    plans: Sequence[Plan[Any]],
    pending: Sequence[int],
    starts: Sequence[Mapping[str, Any] | None],
    cap: int | None,
    workers: int,
) -> AsyncGenerator[_Delivery, None]:
    count = min(workers, len(pending))
    channel: asyncio.Queue[_Message] = asyncio.Queue(maxsize=2 * max(1, count))
    segments = iter(pending)  # shared: each worker takes the next segment not started
    tasks = [
        asyncio.create_task(_read_segments(plans, segments, starts, channel)) for _ in range(count)
    ]
    remaining = cap
    active = len(pending)
    try:
        while active:
            kind, number, payload = await channel.get()
            if kind == "error":
                raise payload
            if kind == "end":
                active -= 1
                continue
            delivery, remaining = deliver(plans, number, payload, remaining)
            if remaining == 0:
                _cancel(tasks)  # the limit is reached: nothing more is read
            yield delivery
            if remaining == 0:
                return
    finally:
        _cancel(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)


def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()


async def aitems(pages: AsyncIterator[ScanPage[T]]) -> AsyncIterator[T]:
    """The items of ``pages``, in order (closing them when the loop ends)."""
    try:
        async for page in pages:
            for item in page.items:
                yield item
    finally:
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            await aclose()


async def acount_segments(
    plans: Sequence[Plan[Any]], checkpoint: ScanCheckpoint, workers: int, cap: int | None
) -> int:
    """:func:`~dynaorm.read.scan_runner.count_segments` with ``await``: a task per
    unfinished segment, at most ``workers`` counting at once."""
    starts = [plan.start(c) for plan, c in zip(plans, checkpoint.cursors, strict=True)]
    todo = [i for i in range(len(plans)) if not checkpoint.done[i]]
    gate = asyncio.Semaphore(max(1, workers))

    async def one(number: int) -> int:
        async with gate:
            return await acount(plans[number], starts[number], None)

    async with asyncio.TaskGroup() as group:
        counts = [group.create_task(one(i)) for i in todo]
    total = sum(task.result() for task in counts)
    return total if cap is None else min(total, cap)
