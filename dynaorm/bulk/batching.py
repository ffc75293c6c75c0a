"""What batch writes and batch gets share: progress reports, counters and physical keys (the
re-sending of a request's unprocessed part is :mod:`dynaorm.bulk.resending`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dynaorm.base.errors import ValidationError
from dynaorm.wire.retry import Retrier

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table
    from dynaorm.model.bound_keys import ItemKey

__all__ = [
    "BatchProgress",
    "BatchWriteResult",
    "Meter",
    "PhysicalKey",
    "ProgressCallback",
    "physical_key",
]

PhysicalKey = tuple[tuple[str, str], ...]


@attrs.frozen
class BatchProgress:
    """A progress report, passed to the ``progress`` callback of a batch write or get.

    The callback runs on the thread that completed a request (a worker thread when
    ``workers > 1``; the event loop's for ``abatch_write``/``abatch_get``), one call at a
    time, after every request.

    Attributes:
        operation: ``"batch_write"`` or ``"batch_get"``.
        done: Writes applied, or distinct keys read (found or missing), so far.
        total: Writes handed to the batch so far, not counting those a later write of the
            same key replaced before they were sent (it grows while the block runs); or the
            number of distinct keys requested.
        requests: Requests sent so far, retries included.
        retries: Requests that were re-sends (after throttling, a server fault, or for
            unprocessed items/keys).
        throttles: Requests refused with a throttling error.

    Example:
        >>> def show(p: BatchProgress) -> None:
        ...     print(f"{p.done}/{p.total}")
        >>> show(BatchProgress("batch_get", done=100, total=250, requests=1, retries=0,
        ...                    throttles=0))
        100/250
    """

    operation: Literal["batch_write", "batch_get"]
    done: int
    total: int
    requests: int
    retries: int
    throttles: int


ProgressCallback = Callable[[BatchProgress], None]


@attrs.frozen
class BatchWriteResult:
    """What a batch write did so far (``batch.result``).

    Every write handed in is in exactly one of three classes, whatever ended the batch:
    **applied** (counted in ``applied``), **not applied** (listed in ``unprocessed``) or
    **outcome unknown** (listed in ``unknown``: sent, but no answer came), or else it was
    ``superseded`` by a later write of the same key before it was sent. So
    ``handed_in == applied + len(unprocessed) + len(unknown) + superseded``, and the writes
    applied are exactly those handed in that are in neither list (nor superseded).

    Attributes:
        puts: Puts the server applied.
        deletes: Deletes the server applied.
        requests: ``BatchWriteItem`` requests sent, retries included.
        retries: Requests that were re-sends: after throttling or a server fault, or carrying
            the items an earlier response returned as unprocessed.
        throttles: Requests refused with a throttling error.
        unprocessed_returns: Items responses handed back as unprocessed (each time).
        consumed_capacity: Write capacity units the server reported (``ReturnConsumedCapacity``
            ``TOTAL``; 0 when the server reports none).
        superseded: Writes replaced, before they were sent, by a later write of the same key.
        unprocessed: Writes certainly not applied, in the order they were handed in: entities
            for puts, :class:`ItemKey` for deletes. Empty unless the policy ran out, an error
            stopped the batch, or the block raised.
        handed_in: Writes handed to ``put``/``delete`` (and accepted) so far.
        applied: Writes the server applied (``puts + deletes``).
        unknown: Writes whose outcome is unknown, in the order they were handed in: a request
            carrying them was sent and got no answer (a read timeout, a broken connection, a
            server fault, or the batch was interrupted while it was out), so the server may or
            may not have applied them. Empty after a batch that ended cleanly.
    """

    puts: int = 0
    deletes: int = 0
    requests: int = 0
    retries: int = 0
    throttles: int = 0
    unprocessed_returns: int = 0
    consumed_capacity: float = 0.0
    superseded: int = 0
    unprocessed: tuple[Entity | ItemKey, ...] = ()
    handed_in: int = 0
    applied: int = 0
    unknown: tuple[Entity | ItemKey, ...] = ()


def physical_key(table: Table, item: Mapping[str, Any]) -> PhysicalKey:
    """The primary key of a raw item or request key, as a hashable tuple."""
    names = (table.pk, table.sk) if table.sk else (table.pk,)
    return tuple((name, str(item[name]["S"])) for name in names)


def key_tuple(key: ItemKey) -> PhysicalKey:
    """The primary key of an :class:`ItemKey`, as :func:`physical_key` gives it."""
    return tuple(sorted(key.key.items()))


def check_entity_class(table: Table, entity: type[Entity], what: str) -> None:
    """Raise unless ``entity`` lives in ``table``.

    Raises:
        ValidationError: The entity belongs to another table (or to none).
    """
    if getattr(entity, "__table__", None) is not table:
        raise ValidationError(
            f"{what}: {entity.__qualname__} is not an entity of table {table.name!r}; "
            "use that entity's own table"
        )


class Meter:
    """Thread-safe counters of one batch, fed from the retriers of its requests.

    Args:
        operation: ``"batch_write"`` or ``"batch_get"``, for progress reports.
        progress: Called after every request with a :class:`BatchProgress`.
    """

    def __init__(
        self, operation: Literal["batch_write", "batch_get"], progress: ProgressCallback | None
    ) -> None:
        self.operation = operation
        self.progress = progress
        # Re-entrant: a progress callback may read ``batch.result``.
        self.lock = threading.RLock()
        self.total = 0
        self.done = 0
        self.requests = 0
        self.retries = 0
        self.throttles = 0
        self.returned = 0
        self.capacity = 0.0
        self._seen: dict[int, tuple[int, int, int]] = {}

    def absorb(
        self,
        retrier: Retrier,
        *,
        done: int = 0,
        returned: int = 0,
        response: Mapping[str, Any] | None = None,
    ) -> None:
        """Add what ``retrier`` counted since the last call, and report progress."""
        capacity = sum(
            float(c.get("CapacityUnits", 0)) for c in (response or {}).get("ConsumedCapacity", [])
        )
        with self.lock:
            requests, retries, throttles = self._seen.get(id(retrier), (0, 0, 0))
            self.requests += retrier.requests - requests
            self.retries += retrier.retries - retries
            self.throttles += retrier.throttles - throttles
            self._seen[id(retrier)] = (retrier.requests, retrier.retries, retrier.throttles)
            self.done += done
            self.returned += returned
            self.capacity += capacity
            if self.progress is not None:
                self.progress(
                    BatchProgress(
                        self.operation,
                        done=self.done,
                        total=self.total,
                        requests=self.requests,
                        retries=self.retries,
                        throttles=self.throttles,
                    )
                )

    def forget(self, retrier: Retrier) -> None:
        """Count what ``retrier`` counted since the last report (a request interrupted before
        its answer was read still counts), without a progress report, and drop its
        bookkeeping."""
        with self.lock:
            requests, retries, throttles = self._seen.pop(id(retrier), (0, 0, 0))
            self.requests += retrier.requests - requests
            self.retries += retrier.retries - retries
            self.throttles += retrier.throttles - throttles
