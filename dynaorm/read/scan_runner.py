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
import hashlib
import math
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from dynaorm.base.errors import ValidationError
from dynaorm.base.threads import WorkerPool, each_completed, take
from dynaorm.model.unknown_items import UnknownItem
from dynaorm.read.page import Page, close
from dynaorm.read.plan import Plan
from dynaorm.read.positions import positions_body, read_positions_body
from dynaorm.read.tokens import CHECKPOINT, CursorKeys, open_token, seal_token
from dynaorm.wire.rate import capacity_units

if TYPE_CHECKING:
    from dynaorm.read.scan import Scan

__all__ = [
    "ScanCheckpoint",
    "ScanPage",
    "SegmentRun",
    "checkpoint_digest",
    "count_segments",
    "deliver",
    "open_checkpoint",
    "run_segments",
    "seal_checkpoint",
]

T = TypeVar("T")
Positions = tuple[Mapping[str, Any] | None, ...]


@attrs.frozen
class ScanCheckpoint:
    """Where each segment of a scan stands; serializable, to resume later or elsewhere.

    ``dumps()`` makes one signed token (encrypted with ``encrypt_cursors``) bound to its scan:
    an edited, truncated or foreign checkpoint raises :class:`~dynaorm.InvalidCursor` when
    loaded, before any request. Checkpoints do not expire.

    Attributes:
        total_segments: How many segments the scan has (1: a plain sequential scan).
        cursors: Per segment, the signed cursor to resume from (``None``: from its start).
        done: Per segment, whether it has been read to the end.

    Example:
        >>> cp = ScanCheckpoint.start(2)
        >>> cp.total_segments, cp.finished
        (2, False)
        >>> text = scan_page.checkpoint.dumps()  # doctest: +SKIP
        >>> ScanCheckpoint.loads(text, Order.scan()).finished  # doctest: +SKIP
        False
    """

    total_segments: int
    cursors: tuple[str | None, ...]
    done: tuple[bool, ...]
    _sealer: Callable[[], str] | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def start(cls, total_segments: int) -> ScanCheckpoint:
        """The checkpoint of a scan that has not begun."""
        return cls(total_segments, (None,) * total_segments, (False,) * total_segments)

    @property
    def finished(self) -> bool:
        """True when every segment has been read to the end."""
        return all(self.done)

    def dumps(self) -> str:
        """The checkpoint as a URL-safe token, signed and bound to its scan.

        Raises:
            ValidationError: The checkpoint was built by hand, not taken from a scan
                (``page.checkpoint``) or loaded (:meth:`loads`).
            ConfigurationError: No cursor secret is configured for a non-local endpoint.
        """
        if self._sealer is None:
            raise ValidationError(
                "only a checkpoint taken from a scan (page.checkpoint) or loaded with "
                "ScanCheckpoint.loads() can be saved: it is signed and bound to its scan"
            )
        return self._sealer()

    @classmethod
    def loads(cls, text: str, scan: Scan[Any]) -> ScanCheckpoint:
        """Verify a checkpoint written by :meth:`dumps` for ``scan`` (built as the scan that
        wrote it; its limit, page size and consistency may differ) and read it.

        Raises:
            InvalidCursor: The text is not such a checkpoint: malformed, edited, made with a
                secret not configured, or another scan's.
            ConfigurationError: No cursor secret is configured for a non-local endpoint.
        """
        return scan._load_checkpoint(text)


def checkpoint_digest(plans: Sequence[Plan[Any]]) -> bytes:
    """What a checkpoint is bound to: every segment's request, hence the segment count."""
    text = b"checkpoint" + b"".join(plan.digest for plan in plans)
    return hashlib.sha256(text).digest()[:16]


def seal_checkpoint(
    plans: Sequence[Plan[Any]], positions: Positions, done: tuple[bool, ...]
) -> str:
    """The token of a checkpoint (see :meth:`ScanCheckpoint.dumps`)."""
    return seal_token(
        plans[0].keys(), CHECKPOINT, checkpoint_digest(plans), positions_body(positions, done)
    )


def open_checkpoint(keys: CursorKeys, text: str) -> tuple[bytes, Positions, tuple[bool, ...]]:
    """The digest, positions and done flags of a verified checkpoint token.

    Raises:
        InvalidCursor: The token is malformed, edited or made with a secret not configured.
    """
    # Checkpoints resume long jobs: a cursor max_age does not apply to them.
    rest = open_token(keys, CHECKPOINT, text, None, max_age=math.inf, what="checkpoint")
    positions, done = read_positions_body(rest[16:])
    return rest[:16], positions, done


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
        sealer = functools.partial(seal_checkpoint, self._plans, self._positions, self._done)
        return ScanCheckpoint(len(self._plans), cursors, self._done, sealer=sealer)


_Message = tuple[str, int, Any]
# What a source of pages yields: segment number, raw items (cut to the limit), the position
# right after them (``None``: the segment is done), and the response they came in.
_Delivery = tuple[int, list[Any], list[UnknownItem], Mapping[str, Any] | None, dict[str, Any]]


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
        for items, unknown, after, response in responses:
            yield 0, items, unknown, after, response
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
            delivery, remaining = deliver(plans, number, payload, remaining)
            yield delivery
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
    run = SegmentRun(plans, checkpoint)
    if not run.pending or cap == 0:
        return
    if run.numbered:
        source = _in_parallel(plans, run.pending, run.starts, cap, workers)
    else:
        source = _in_line(plans[0], run.starts[0], cap, read_ahead)
    try:
        for delivery in source:
            yield run.page(*delivery)
    finally:
        close(source)


def deliver(
    plans: Sequence[Plan[Any]], number: int, response: dict[str, Any], remaining: int | None
) -> tuple[_Delivery, int | None]:
    """Decode a response of segment ``number`` read by a worker (at most ``remaining``
    results): the delivery and the results still wanted."""
    raw: list[dict[str, Any]] = response.get("Items", [])
    after: Mapping[str, Any] | None = response.get("LastEvaluatedKey")
    items, unknown, used = plans[number].decode_page(raw, remaining)
    if 0 < used < len(raw):
        after = plans[number].position_of(raw[used - 1])
    if remaining is not None:
        remaining -= len(items)
    return (number, items, unknown, after, response), remaining


class SegmentRun(Generic[T]):
    """Where each segment of a run stands, as of the pages delivered; makes those pages.

    Raises:
        InvalidCursor: A checkpointed cursor does not belong to its segment of this scan.
    """

    def __init__(self, plans: Sequence[Plan[T]], checkpoint: ScanCheckpoint) -> None:
        self.plans = plans
        self.starts = [plans[i].start(checkpoint.cursors[i]) for i in range(len(plans))]
        self._positions: list[Mapping[str, Any] | None] = list(self.starts)
        self._done = list(checkpoint.done)
        self.pending = [i for i in range(len(plans)) if not self._done[i]]
        self.numbered = len(plans) > 1

    def page(
        self,
        number: int,
        items: list[T],
        unknown: list[UnknownItem],
        after: Mapping[str, Any] | None,
        response: dict[str, Any],
    ) -> ScanPage[T]:
        """The page of one delivery (and the segment's position moved past it)."""
        plans = self.plans
        self._positions[number] = after
        self._done[number] = after is None
        return ScanPage(
            tuple(items),
            int(response.get("ScannedCount", 0)),
            capacity_units(response),
            position=after,
            signer=plans[number].sign,
            segment=number if self.numbered else None,
            plans=plans,
            positions=tuple(self._positions),
            done=tuple(self._done),
            unknown=tuple(unknown),
        )


def count_segments(
    plans: Sequence[Plan[Any]], checkpoint: ScanCheckpoint, workers: int, cap: int | None
) -> int:
    """Count what the unfinished segments hold (``Select=COUNT``), on a pool of ``workers``
    threads for several; at most ``cap``."""
    starts = [plan.start(c) for plan, c in zip(plans, checkpoint.cursors, strict=True)]
    todo = [i for i in range(len(plans)) if not checkpoint.done[i]]
    if len(plans) == 1:  # a resumed sequential scan: on the caller's thread
        total = plans[0].count(starts[0], None) if todo else 0
        return total if cap is None else min(total, cap)
    # Stopping (an error, Ctrl-C) cancels the segments not started and every retry; the
    # caller does not wait for the requests in flight.
    stop = threading.Event()
    pool = WorkerPool("scan-count", min(workers, len(todo) or 1))
    finished = False
    try:
        futures = [pool.submit(plans[i].count, starts[i], None, stop) for i in todo]
        total = sum(future.result() for future in each_completed(futures))
        finished = True
    finally:
        stop.set()
        pool.shutdown(wait=finished, cancel_futures=True)  # idle threads only
    return total if cap is None else min(total, cap)
