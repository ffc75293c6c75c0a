"""Running scan segments: in line for one, on a thread pool for several; checkpoints.

A sequential scan runs on the caller's thread and sends a request only when the caller wants
the next page (``read_ahead()``: one page ahead, on a named worker thread). For several
segments, workers read their segment page by page and hand each response to the consuming
thread through a bounded queue, so memory stays constant however large the table is: a slow
consumer makes the workers wait. The consumer decodes, applies the limit, and records each segment's
position as of the pages it has *delivered*; a :class:`ScanCheckpoint` taken after a page
therefore resumes with nothing skipped and nothing delivered twice (pages read ahead but not
yet delivered are read again).
"""

from __future__ import annotations

import functools
import json
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from dynaorm._errors import InvalidCursor
from dynaorm._paging import Page, Plan, close
from dynaorm._rate import capacity_units
from dynaorm._threads import WorkerPool, take

__all__ = ["ScanCheckpoint", "ScanPage", "run_segments"]

T = TypeVar("T")


@attrs.frozen
class ScanCheckpoint:
    """Where each segment of a scan stands; serializable, to resume later or elsewhere.

    Attributes:
        total_segments: How many segments the scan has (1: a plain sequential scan).
        cursors: Per segment, the signed cursor to resume from (``None``: from its start).
        done: Per segment, whether it has been read to the end.

    Example:
        >>> cp = ScanCheckpoint(2, (None, None), (False, True))
        >>> ScanCheckpoint.loads(cp.dumps()) == cp
        True
    """

    total_segments: int
    cursors: tuple[str | None, ...]
    done: tuple[bool, ...]

    @classmethod
    def start(cls, total_segments: int) -> ScanCheckpoint:
        """The checkpoint of a scan that has not begun."""
        return cls(total_segments, (None,) * total_segments, (False,) * total_segments)

    @property
    def finished(self) -> bool:
        """True when every segment has been read to the end."""
        return all(self.done)

    def dumps(self) -> str:
        """The checkpoint as JSON text (each segment's cursor stays signed)."""
        return json.dumps(
            {"v": 1, "segments": self.total_segments, "cursors": self.cursors, "done": self.done},
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> ScanCheckpoint:
        """Read a checkpoint written by :meth:`dumps`.

        Raises:
            InvalidCursor: The text is not such a checkpoint.
        """
        try:
            data = json.loads(text)
            total = data["segments"]
            cursors = tuple(data["cursors"])
            done = tuple(bool(d) for d in data["done"])
            valid = (
                data.get("v") == 1
                and isinstance(total, int)
                and total >= 1
                and len(cursors) == len(done) == total
                and all(c is None or isinstance(c, str) for c in cursors)
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            valid = False
        if not valid:
            raise InvalidCursor("not a dynaorm scan checkpoint")
        return cls(total, cursors, done)


Positions = tuple[Mapping[str, Any] | None, ...]


@attrs.frozen
class ScanPage(Page[T], Generic[T]):
    """A page of a scan, from one segment.

    Attributes:
        segment: The segment the page came from (``None`` for a sequential scan).
    """

    segment: int | None = None
    _plans: Sequence[Plan[T]] = attrs.field(default=(), repr=False, eq=False)
    _positions: Positions = attrs.field(default=(), repr=False)
    _done: tuple[bool, ...] = attrs.field(default=(), repr=False)

    @functools.cached_property
    def checkpoint(self) -> ScanCheckpoint:
        """Every segment's position as of this page: save it *after* handling the page's
        items; ``scan.resume(checkpoint)`` continues from there. Signed on first use."""
        cursors = tuple(
            None if position is None else plan.sign(position)
            for plan, position in zip(self._plans, self._positions, strict=True)
        )
        return ScanCheckpoint(len(self._plans), cursors, self._done)


_Message = tuple[str, int, Any]
# What a source of pages yields: segment number, raw items (cut to the limit), the position
# right after them (``None``: the segment is done), and the response they came in.
_Delivery = tuple[int, list[dict[str, Any]], Mapping[str, Any] | None, dict[str, Any]]


def _put(channel: queue.Queue[_Message], message: _Message, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            channel.put(message, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _read_segment(
    plan: Plan[Any],
    number: int,
    position: Mapping[str, Any] | None,
    channel: queue.Queue[_Message],
    stop: threading.Event,
) -> None:
    try:
        while not stop.is_set():
            response = plan.send(plan.request_for(position, None), stop)
            if not _put(channel, ("page", number, response), stop):
                return
            position = response.get("LastEvaluatedKey")
            if position is None:
                break
    except BaseException as exc:  # handed to the consumer, which raises it
        _put(channel, ("error", number, exc), stop)  # dropped at once when stopped
        return
    _put(channel, ("end", number, None), stop)


def _in_line(
    plan: Plan[Any], position: Mapping[str, Any] | None, cap: int | None, read_ahead: bool
) -> Iterator[_Delivery]:
    """One segment read on the caller's thread, a request when the next page is wanted (with
    ``read_ahead``: the next one on a worker thread while this one is used)."""
    responses = plan.responses(position, cap, read_ahead=read_ahead)
    try:
        for raw, after, response in responses:
            yield 0, raw, after, response
    finally:
        close(responses)


def _in_parallel(
    plans: Sequence[Plan[Any]],
    pending: Sequence[int],
    starts: Sequence[Mapping[str, Any] | None],
    cap: int | None,
    workers: int,
) -> Iterator[_Delivery]:
    """Segments read on a pool of ``workers`` threads, handed over through a bounded queue.

    Closing (or an error) stops at once: segments not started are cancelled, no worker starts
    another request or retry, and the caller does not wait for the requests in flight (their
    workers drop the answers and end by themselves).
    """
    threads = min(workers, len(pending))
    channel: queue.Queue[_Message] = queue.Queue(maxsize=2 * max(1, threads))
    stop = threading.Event()
    pool = WorkerPool("scan", threads)
    remaining = cap
    active = len(pending)
    try:
        for i in pending:
            pool.submit(_read_segment, plans[i], i, starts[i], channel, stop)
        while active:
            kind, number, payload = take(channel)
            if kind == "error":
                raise payload
            if kind == "end":
                active -= 1
                continue
            raw: list[dict[str, Any]] = payload.get("Items", [])
            after: Mapping[str, Any] | None = payload.get("LastEvaluatedKey")
            if remaining is not None and len(raw) > remaining:
                raw = raw[:remaining]
                after = plans[number].position_of(raw[-1])
            if remaining is not None:
                remaining -= len(raw)
            yield number, raw, after, payload
            if remaining == 0:
                return
    finally:
        stop.set()
        # Every worker has ended its segment (active == 0) or is told to stop; wait only for
        # idle threads, never for a request in flight.
        pool.shutdown(wait=active == 0, cancel_futures=True)
        while True:  # let go of pages handed over but not delivered
            try:
                channel.get_nowait()
            except queue.Empty:
                break


def run_segments(
    plans: Sequence[Plan[T]],
    checkpoint: ScanCheckpoint,
    cap: int | None,
    *,
    workers: int,
    read_ahead: bool = False,
) -> Iterator[ScanPage[T]]:
    """Read every unfinished segment from its checkpointed position; yield pages as they
    arrive, at most ``cap`` items in all.

    One plan (a sequential scan, or one ``segment()``) is read on the caller's thread, a
    request only when the next page is wanted (``read_ahead``: one request ahead, on a worker
    thread); several on a pool of ``workers`` threads, whose pages carry their segment number.

    Args:
        plans: One compiled plan per segment (each carries the shared read-rate limiter).
        checkpoint: Where each segment starts.
        cap: The most items to deliver.
        workers: Threads reading at once (segments beyond wait their turn).
        read_ahead: Read one page ahead when there is one plan.

    Raises:
        InvalidCursor: A checkpointed cursor does not belong to its segment of this scan.
    """
    starts = [plans[i].start(checkpoint.cursors[i]) for i in range(len(plans))]
    positions: list[Mapping[str, Any] | None] = list(starts)
    done = list(checkpoint.done)
    pending = [i for i in range(len(plans)) if not done[i]]
    if not pending or cap == 0:
        return
    numbered = len(plans) > 1
    if numbered:
        source = _in_parallel(plans, pending, starts, cap, workers)
    else:
        source = _in_line(plans[0], starts[0], cap, read_ahead)
    try:
        for number, raw, after, response in source:
            plan = plans[number]
            items = tuple(plan.decode(item) for item in raw)
            positions[number] = after
            done[number] = after is None
            yield ScanPage(
                items,
                int(response.get("ScannedCount", 0)),
                capacity_units(response),
                position=after,
                signer=plan.sign,
                segment=number if numbered else None,
                plans=plans,
                positions=tuple(positions),
                done=tuple(done),
            )
    finally:
        close(source)
