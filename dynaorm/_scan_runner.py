"""Running scan segments: in line for one, on a thread pool for several; checkpoints; read rate.

Workers read their segment page by page and hand each response to the consuming thread through
a bounded queue, so memory stays constant however large the table is: a slow consumer makes
the workers wait. The consumer decodes, applies the limit, and records each segment's
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

from dynaorm._cursor import (
    CHECKPOINT,
    CursorKeys,
    open_token,
    positions_body,
    read_positions_body,
    seal_token,
)
from dynaorm._errors import ValidationError
from dynaorm._paging import Page, Plan
from dynaorm._rate import ReadRateLimiter, capacity_units, charge
from dynaorm._threads import WorkerPool

if TYPE_CHECKING:
    from dynaorm._scan import Scan

__all__ = [
    "ScanCheckpoint",
    "ScanPage",
    "checkpoint_digest",
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
    limiter: ReadRateLimiter | None,
) -> None:
    try:
        while not stop.is_set():
            if limiter is not None:
                limiter.acquire(stop)
                if stop.is_set():
                    break
            request = plan.request_for(position, None)
            response = plan.table.call(plan.operation, request, idempotent=True)
            charge(limiter, response, consistent=bool(request.get("ConsistentRead")))
            if not _put(channel, ("page", number, response), stop):
                return
            position = response.get("LastEvaluatedKey")
            if position is None:
                break
    except BaseException as exc:  # handed to the consumer, which raises it
        _put(channel, ("error", number, exc), stop)
        return
    _put(channel, ("end", number, None), stop)


def run_segments(
    plans: Sequence[Plan[T]],
    checkpoint: ScanCheckpoint,
    cap: int | None,
    *,
    workers: int,
    limiter: ReadRateLimiter | None,
    numbered: bool,
) -> Iterator[ScanPage[T]]:
    """Read every unfinished segment from its checkpointed position; yield pages as they
    arrive, at most ``cap`` items in all.

    Args:
        plans: One compiled plan per segment.
        checkpoint: Where each segment starts.
        cap: The most items to deliver.
        workers: Threads reading at once (segments beyond wait their turn).
        limiter: Shared read-rate limiter.
        numbered: Pages carry their segment number (parallel scans) or ``None``.

    Raises:
        InvalidCursor: A checkpointed cursor does not belong to its segment of this scan.
    """
    starts = [plans[i].start(checkpoint.cursors[i]) for i in range(len(plans))]
    positions: list[Mapping[str, Any] | None] = list(starts)
    done = list(checkpoint.done)
    pending = [i for i in range(len(plans)) if not done[i]]
    if not pending or cap == 0:
        return
    channel: queue.Queue[_Message] = queue.Queue(maxsize=2 * max(1, min(workers, len(pending))))
    stop = threading.Event()
    pool = WorkerPool("scan", min(workers, len(pending)))
    remaining = cap
    try:
        for i in pending:
            pool.submit(_read_segment, plans[i], i, starts[i], channel, stop, limiter)
        active = len(pending)
        while active:
            kind, number, payload = channel.get()
            if kind == "error":
                raise payload
            if kind == "end":
                active -= 1
                continue
            plan = plans[number]
            raw: list[dict[str, Any]] = payload.get("Items", [])
            after: Mapping[str, Any] | None = payload.get("LastEvaluatedKey")
            decoded, unknown, used = plan.decode_page(raw, remaining)
            if 0 < used < len(raw):
                after = plan.position_of(raw[used - 1])
            items = tuple(decoded)
            positions[number] = after
            done[number] = after is None
            if remaining is not None:
                remaining -= len(items)
            yield ScanPage(
                items,
                int(payload.get("ScannedCount", 0)),
                capacity_units(payload),
                position=after,
                signer=plan.sign,
                segment=number if numbered else None,
                plans=plans,
                positions=tuple(positions),
                done=tuple(done),
                unknown=tuple(unknown),
            )
            if remaining == 0:
                return
    finally:
        stop.set()
        while True:  # unblock workers waiting to hand over a page
            try:
                channel.get_nowait()
            except queue.Empty:
                break
        pool.shutdown(wait=True, cancel_futures=True)
