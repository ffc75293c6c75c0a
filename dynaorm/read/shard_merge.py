"""The engine of scatter-gather reads: one query per shard, run concurrently, merged in
sort-key order, with a position per shard so a cursor resumes every one of them exactly.

Each shard keeps a buffer of the items its last response returned (decoded, with their sort
key text and the position right after them) and where its next request starts. Before an item
is handed out, every shard still running has a buffered item or is exhausted, so the smallest
buffered head (the largest, descending) is the next item in sort order: a heap over the heads
merges them. A shard's cursor state is the position right after the last item *handed out*
from it (items buffered but not handed out are read again on resuming), or "done" once its
last response is used up, or "not started". Ties between equal sort keys go to the lower shard.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from dynaorm.base.threads import WorkerPool, result_of
from dynaorm.model.unknown_items import UnknownItem, report_unknown
from dynaorm.read.plan import Plan
from dynaorm.wire.rate import capacity_units

__all__ = ["MergeState", "ShardMerge"]

T = TypeVar("T")


@attrs.frozen
class MergeState:
    """Where each shard resumes: a position (``None``: from its start) or done."""

    positions: tuple[Mapping[str, Any] | None, ...]
    done: tuple[bool, ...]

    @property
    def finished(self) -> bool:
        """Every shard is done: nothing follows."""
        return all(self.done)


class _Descending:
    """Orders sort-key texts in reverse for the heap (ties still to the lower shard)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Descending) -> bool:
        return self.text > other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.text == other.text

    __hash__ = None  # type: ignore[assignment]


@attrs.define
class _Shard(Generic[T]):
    plan: Plan[T]
    following: Mapping[str, Any] | None  # where the next request starts
    exhausted: bool  # no request follows
    state: Mapping[str, Any] | None  # the position after the last item handed out
    done: bool
    buffer: deque[tuple[str, Mapping[str, Any], T | UnknownItem | None]] = attrs.field(
        factory=deque
    )
    fetched: int = 0


class ShardMerge(Generic[T]):
    """One run of a scatter-gather read (a page, or an iteration).

    Args:
        plans: One plan per shard, in shard order.
        state: Where each shard resumes.
        sort_attribute: The physical sort-key attribute of the queried key (``None``: none).
        descending: Merge in descending order (each shard's query is descending too).
        page_size: ``Limit`` of every request, when set.
        pool: Where requests run, concurrently.
    """

    def __init__(
        self,
        plans: Sequence[Plan[T]],
        state: MergeState,
        *,
        sort_attribute: str | None,
        descending: bool,
        page_size: int | None,
        pool: WorkerPool,
    ) -> None:
        self.shards = [
            _Shard(plan, position, done, position, done)
            for plan, position, done in zip(plans, state.positions, state.done, strict=True)
        ]
        self.sort_attribute = sort_attribute
        self.descending = descending
        self.page_size = page_size
        self.pool = pool
        self.scanned = 0
        self.consumed: float | None = None
        self.unknown: list[UnknownItem] = []
        self._heap: list[tuple[Any, int]] = []

    def state(self) -> MergeState:
        """Where each shard resumes after the items handed out so far."""
        return MergeState(tuple(s.state for s in self.shards), tuple(s.done for s in self.shards))

    def _request(self, shard: _Shard[T], want: int | None) -> dict[str, Any]:
        request = shard.plan.request_for(shard.following, want)
        if self.page_size is None and want is None:
            request.pop("Limit", None)
        return request

    def _fill(self, indexes: list[int], want: int | None) -> None:
        """Send the next request of each shard in ``indexes``, concurrently, and buffer the
        decoded items."""
        futures = [
            (i, self.pool.submit(self.shards[i].plan.send, self._request(self.shards[i], want)))
            for i in indexes
        ]
        for i, future in futures:
            response = result_of(future)
            shard = self.shards[i]
            shard.fetched += 1
            self.scanned += int(response.get("ScannedCount", 0))
            units = capacity_units(response)
            if units is not None:
                self.consumed = units if self.consumed is None else self.consumed + units
            skipped: list[UnknownItem] = []
            for raw in response.get("Items", []):
                text = raw.get(self.sort_attribute, {}).get("S", "") if self.sort_attribute else ""
                result = shard.plan.decode(raw)
                if isinstance(result, UnknownItem):
                    self.unknown.append(result)
                    if not shard.plan.mixed:
                        skipped.append(result)
                        shard.buffer.append((text, shard.plan.position_of(raw), None))
                        continue
                shard.buffer.append((text, shard.plan.position_of(raw), result))
            if skipped:
                report_unknown(shard.plan.table, shard.plan.what, skipped)
            shard.following = response.get("LastEvaluatedKey")
            shard.exhausted = shard.following is None
            if shard.buffer:
                self._push(i)
            elif shard.exhausted:
                shard.done = True

    def _push(self, i: int) -> None:
        text = self.shards[i].buffer[0][0]
        heapq.heappush(self._heap, (_Descending(text) if self.descending else text, i))

    def items(self, limit: int | None, *, one_round: bool = False) -> Iterator[T]:
        """Hand out items in sort order, at most ``limit``; with ``one_round``, stop before a
        shard would need a second request (a page without a limit)."""
        given = 0
        while limit is None or given < limit:
            need = [
                i
                for i, s in enumerate(self.shards)
                if not s.done and not s.buffer and not s.exhausted
            ]
            if need:
                if one_round and any(self.shards[i].fetched for i in need):
                    return
                want = None if limit is None else limit - given
                self._fill(need, want)
                continue
            if not self._heap:
                return
            _, i = heapq.heappop(self._heap)
            shard = self.shards[i]
            _, position, result = shard.buffer.popleft()
            shard.state = position
            if shard.buffer:
                self._push(i)
            elif shard.exhausted:
                shard.done = True
            if result is None:
                continue
            given += 1
            yield result  # type: ignore[misc]
