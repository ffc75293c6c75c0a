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
        pool: Where :meth:`items` sends requests, concurrently (``None``: the caller sends
            them, :meth:`requests` then :meth:`absorb`).
    """

    def __init__(
        self,
        plans: Sequence[Plan[T]],
        state: MergeState,
        *,
        sort_attribute: str | None,
        descending: bool,
        page_size: int | None,
        pool: WorkerPool | None = None,
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

    def requests(self, indexes: Sequence[int], want: int | None) -> list[dict[str, Any]]:
        """The next request of each shard in ``indexes`` (``want``: items still wanted)."""
        out = []
        for i in indexes:
            shard = self.shards[i]
            request = shard.plan.request_for(shard.following, want)
            if self.page_size is None and want is None:
                request.pop("Limit", None)
            out.append(request)
        return out

    def _fill(self, indexes: list[int], want: int | None) -> None:
        """Send the next request of each shard in ``indexes`` on the pool, concurrently, and
        buffer the decoded items."""
        if self.pool is None:
            raise TypeError("a merge without a pool is driven by its caller (absorb)")
        pool = self.pool
        requests = self.requests(indexes, want)
        futures = [
            (i, pool.submit(self.shards[i].plan.send, request))
            for i, request in zip(indexes, requests, strict=True)
        ]
        for i, future in futures:
            self.absorb(i, result_of(future))

    def absorb(self, i: int, response: dict[str, Any]) -> None:
        """Buffer what shard ``i``'s latest response returned (decoded, in its order)."""
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

    def need(self, *, one_round: bool = False) -> list[int] | None:
        """What the merge needs before its next item: the shards to read next (each has
        nothing buffered and more to read), ``[]`` when :meth:`take` may run, or ``None``
        when nothing follows (or, with ``one_round``, a shard would need a second request)."""
        need = [
            i for i, s in enumerate(self.shards) if not s.done and not s.buffer and not s.exhausted
        ]
        if need:
            if one_round and any(self.shards[i].fetched for i in need):
                return None
            return need
        return [] if self._heap else None

    def take(self) -> tuple[bool, T | None]:
        """Hand out the next item in sort order: ``(True, item)``, or ``(False, None)`` for a
        skipped unknown item (its position is used up all the same)."""
        _, i = heapq.heappop(self._heap)
        shard = self.shards[i]
        _, position, result = shard.buffer.popleft()
        shard.state = position
        if shard.buffer:
            self._push(i)
        elif shard.exhausted:
            shard.done = True
        if result is None:
            return False, None
        return True, result  # type: ignore[return-value]

    def items(self, limit: int | None, *, one_round: bool = False) -> Iterator[T]:
        """Hand out items in sort order, at most ``limit``, reading on the pool; with
        ``one_round``, stop before a shard would need a second request (a page without a
        limit). The async run (:mod:`dynaorm.read.async_sharded`) drives the same steps."""
        given = 0
        while limit is None or given < limit:
            need = self.need(one_round=one_round)
            if need is None:
                return
            if need:
                self._fill(need, None if limit is None else limit - given)
                continue
            found, result = self.take()
            if found:
                given += 1
                yield result  # type: ignore[misc]
