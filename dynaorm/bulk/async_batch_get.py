"""``await table.abatch_get(keys)``: the batch get of :mod:`dynaorm.bulk.batch_get` with its
requests sent as asyncio tasks.

The keys, the requests of 100, what each response means, the retries of unprocessed keys,
the results and the errors are the sync call's (:class:`~dynaorm.bulk.batch_get.BatchGet`
and :class:`~dynaorm.bulk.resending.Resend`); only the requests go through the async
transport, at most ``concurrency`` at once, with backoffs slept by ``asyncio.sleep``. No
thread is started; cancelling the awaiting task cancels the requests in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from dynaorm.base.errors import ValidationError
from dynaorm.bulk.batch_get import BatchGet, Selectable
from dynaorm.bulk.batching import ProgressCallback
from dynaorm.bulk.resending import Outcome, asend_until_done
from dynaorm.wire.retry import RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.model.bound_keys import ItemKey
    from dynaorm.model.unknown_items import UnknownItem

__all__ = ["abatch_get"]


async def abatch_get(
    table: Table,
    keys: Iterable[ItemKey | Entity],
    *,
    consistent: bool = False,
    select: Sequence[Selectable] | None = None,
    concurrency: int = 1,
    policy: RetryPolicy | None = None,
    progress: ProgressCallback | None = None,
) -> list[Entity | UnknownItem | None]:
    """:func:`~dynaorm.bulk.batch_get.batch_get` with ``await``; see
    :meth:`dynaorm.Table.abatch_get`."""
    # Every check is made, and nothing sent, before the first await.
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(f"abatch_get: concurrency must be at least 1, got {concurrency!r}")
    batch = BatchGet(
        table,
        keys,
        consistent=consistent,
        select=select,
        workers=concurrency,
        policy=policy,
        progress=progress,
    )
    from dynaorm.wire.async_transport import async_transport  # the "async" extra

    transport = async_transport(batch.bound.transport)
    chunks = batch.chunks
    outcomes: list[Outcome[ItemKey] | None] = [None] * len(chunks)
    work = iter(range(len(chunks)))

    async def worker() -> None:
        # Chunks are taken in request order; none is started once the batch stopped.
        for number in work:
            if batch.stop.is_set():
                return
            resend = batch.resend(chunks[number])
            outcome = await asend_until_done(transport, "BatchGetItem", resend)
            outcomes[number] = batch.settle(outcome)

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(worker()) for _ in range(min(concurrency, len(chunks)))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # cancelled, or a progress callback raised: stop at once
        batch.stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    done = [o for o in outcomes if o is not None]
    unsent = [k for chunk, o in zip(chunks, outcomes, strict=True) if o is None for k in chunk]
    return batch.results(done, unsent)
