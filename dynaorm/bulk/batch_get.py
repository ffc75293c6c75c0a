"""``table.batch_get()``: many items of any entity type by key, in request order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.operand import Path

from dynaorm.base.errors import BatchIncomplete, ValidationError
from dynaorm.base.limits import BATCH_GET_LIMIT
from dynaorm.base.threads import WorkerPool
from dynaorm.bulk.batching import (
    Meter,
    PhysicalKey,
    ProgressCallback,
    check_entity_class,
    key_tuple,
    physical_key,
)
from dynaorm.bulk.resending import Outcome, Resend, StopGate, send_until_done
from dynaorm.expressions.compile import ExpressionBuilder
from dynaorm.expressions.paths import path_of, top_name
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.decode import Decoder
from dynaorm.model.entity import EntityBase
from dynaorm.model.key_only import projected_key_attributes
from dynaorm.model.unknown_items import UnknownItem, is_strict
from dynaorm.read.support import partly_read
from dynaorm.wire.connection import bind
from dynaorm.wire.retry import Retrier, RetryPolicy

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table


__all__ = ["BatchGet", "batch_get", "item_keys", "key_read_decoder", "projection"]

Selectable = Attribute[Any] | Path | str


def item_keys(table: Table, keys: Iterable[ItemKey | Entity], what: str) -> list[ItemKey]:
    """The :class:`ItemKey` of every key or entity, each checked to belong to ``table``.

    Raises:
        ValidationError: Something is not a key or entity of the table.
    """
    out = []
    for position, key in enumerate(keys):
        item_key = key.item_key if isinstance(key, EntityBase) else key
        if not isinstance(item_key, ItemKey):
            raise ValidationError(
                f"{what}: position {position} is a {type(key).__name__}; pass ItemKeys "
                "(Entity.key(...)) or entity instances"
            )
        check_entity_class(table, item_key.entity, what)
        out.append(item_key)
    return out


def projection(
    table: Table, select: Sequence[Selectable] | None, keys: Iterable[ItemKey]
) -> dict[str, Any]:
    """``ProjectionExpression`` and names for ``select``, plus what typed reads need: the
    entity-type attribute, the primary key, and the key fields of the entities read (so each
    instance still knows its own key)."""
    if not select:
        return {}
    needed = [table.type_attribute, table.pk, *([table.sk] if table.sk else [])]
    for entity in dict.fromkeys(k.entity for k in keys):
        attributes = entity.get_attributes()
        needed += [attributes[name].attr_name for name in entity.__primary__.fields]
    selected = {top_name(path_of(target)) for target in select}
    needed += sorted(projected_key_attributes(table, selected))  # key-only fields' keys
    builder = ExpressionBuilder()
    expression = builder.projection([*select, *needed])
    return {"ProjectionExpression": expression, **builder.members()}


def key_read_decoder(
    table: Table, select: Sequence[Selectable] | None, keys: Iterable[ItemKey]
) -> Decoder:
    """The decoder of a read by keys (``batch_get``, ``transact_get``): partial entities
    when ``select`` is given; items that are not of their key's entity type become
    :class:`~dynaorm.UnknownItem` records (or raise, under ``unknown_items="raise"``)."""
    returned: set[str] | None = None
    partly: frozenset[str] = frozenset()
    if select:
        paths = [path_of(target) for target in select]
        returned = {table.type_attribute, table.pk, *([table.sk] if table.sk else [])}
        returned.update(top_name(path) for path in paths)
        returned.update(projected_key_attributes(table, returned))
        for entity in dict.fromkeys(k.entity for k in keys):
            attributes = entity.get_attributes()
            returned.update(attributes[name].attr_name for name in entity.__primary__.fields)
        partly = partly_read(paths)  # read only through nested paths: partial for writes
    return Decoder(table, returned=returned, partly=partly, strict=is_strict(table, None))


class BatchGet:
    """One ``batch_get``: its keys checked and split into requests of 100, what every
    request's response means, and the results, without I/O; the sync :func:`batch_get` and
    the async ``abatch_get`` send the requests (:meth:`resend`) their own ways.

    Args:
        table: The table read.
        keys: Keys or entities of the table.
        consistent: Strongly consistent reads.
        select: Attributes to read (partial entities); ``None`` reads whole items.
        workers: Requests in flight at once (checked here; the sender uses it).
        policy: Retry policy; the table's ``retry_policy`` when ``None``.
        progress: Called with a :class:`~dynaorm.BatchProgress` after every request.

    Attributes:
        chunks: The requests' keys, in request order.
        stop: Set once a request gave up; no request of the batch is sent after it.

    Raises:
        ValidationError: ``workers`` < 1, or something is not a key or entity of the table.
    """

    def __init__(
        self,
        table: Table,
        keys: Iterable[ItemKey | Entity],
        *,
        consistent: bool,
        select: Sequence[Selectable] | None,
        workers: int,
        policy: RetryPolicy | None,
        progress: ProgressCallback | None,
    ) -> None:
        if workers < 1:
            raise ValidationError(f"batch_get: workers must be at least 1, got {workers!r}")
        self.table = table
        self._requested = item_keys(table, keys, "batch_get")
        distinct: dict[PhysicalKey, ItemKey] = {}
        for key in self._requested:
            distinct.setdefault(key_tuple(key), key)
        self._distinct = distinct
        self.policy = policy or table.retry_policy
        self.bound = bind(table)  # every request of this call goes to one table
        self._consistent = consistent
        self._select = select
        self._members = projection(table, select, distinct.values())
        self._meter = Meter("batch_get", progress)
        self._meter.total = len(distinct)
        self._found: dict[PhysicalKey, dict[str, Any]] = {}
        self._found_lock = threading.Lock()
        self.stop = threading.Event()
        self._gate = StopGate(self.stop)  # once stopped, no request of this batch is sent
        everything = list(distinct.values())
        self.chunks = [
            everything[i : i + BATCH_GET_LIMIT] for i in range(0, len(everything), BATCH_GET_LIMIT)
        ]

    def _build(self, chunk: list[ItemKey]) -> dict[str, Any]:
        spec = {
            "Keys": [k.to_request() for k in chunk],
            "ConsistentRead": self._consistent,
            **self._members,
        }
        return {"RequestItems": {self.bound.name: spec}, "ReturnConsumedCapacity": "TOTAL"}

    def _receive(self, response: dict[str, Any]) -> list[PhysicalKey]:
        name, table = self.bound.name, self.table
        items = response.get("Responses", {}).get(name, [])
        with self._found_lock:
            for item in items:
                self._found[physical_key(table, item)] = item
        left = response.get("UnprocessedKeys", {}).get(name, {}).get("Keys", [])
        return [physical_key(table, k) for k in left]

    def resend(self, chunk: list[ItemKey]) -> Resend[ItemKey]:
        """The request of ``chunk`` and its re-sends, under one budget of the policy."""
        retrier = Retrier(self.policy, f"BatchGetItem on {self.bound.name!r}", stop=self.stop)
        return Resend(
            {key_tuple(k): k for k in chunk},
            build=self._build,
            receive=self._receive,
            retrier=retrier,
            meter=self._meter,
            noun="key",
            gate=self._gate,
        )

    def settle(self, outcome: Outcome[ItemKey]) -> Outcome[ItemKey]:
        """Stop the batch when ``outcome`` left keys or ended in an error; return it."""
        if outcome.left or outcome.error is not None:
            self.stop.set()
        return outcome

    def results(
        self, outcomes: list[Outcome[ItemKey]], unsent: list[ItemKey]
    ) -> list[Entity | UnknownItem | None]:
        """The entry of every requested key, in request order.

        Raises:
            BatchIncomplete: Keys were left unread (``unsent``: never sent).
        """
        _raise_if_incomplete(self.table, self.policy, outcomes, unsent)
        decode = key_read_decoder(self.table, self._select, self._distinct.values())
        found = self._found
        return [
            decode(found[key_tuple(key)], key.entity) if key_tuple(key) in found else None
            for key in self._requested
        ]


def batch_get(
    table: Table,
    keys: Iterable[ItemKey | Entity],
    *,
    consistent: bool = False,
    select: Sequence[Selectable] | None = None,
    workers: int = 1,
    policy: RetryPolicy | None = None,
    progress: ProgressCallback | None = None,
) -> list[Entity | UnknownItem | None]:
    """Read many items by key with ``BatchGetItem``; see :meth:`dynaorm.Table.batch_get`."""
    batch = BatchGet(
        table,
        keys,
        consistent=consistent,
        select=select,
        workers=workers,
        policy=policy,
        progress=progress,
    )
    transport = batch.bound.transport

    def run(chunk: list[ItemKey]) -> Outcome[ItemKey]:
        return batch.settle(send_until_done(transport, "BatchGetItem", batch.resend(chunk)))

    chunks = batch.chunks
    if workers == 1 or len(chunks) <= 1:
        outcomes = []
        for chunk in chunks:
            outcomes.append(run(chunk))
            if batch.stop.is_set():
                break
        unsent = [k for chunk in chunks[len(outcomes) :] for k in chunk]
    else:
        results = _run_all(workers, batch.stop, run, chunks)
        outcomes = [o for o in results if o is not None]
        unsent = [k for chunk, o in zip(chunks, results, strict=True) if o is None for k in chunk]
    return batch.results(outcomes, unsent)


def _run_all(
    workers: int,
    stop: threading.Event,
    run: Callable[[list[ItemKey]], Outcome[ItemKey]],
    chunks: list[list[ItemKey]],
) -> list[Outcome[ItemKey] | None]:
    """Run every chunk on a pool of ``workers``; ``None`` for a chunk never sent.

    Whatever interrupts the wait (Ctrl-C, a raising progress callback), the queued chunks are
    cancelled and the requests in flight stop retrying before it propagates, so at most one
    attempt per worker goes out after it.
    """
    executor = WorkerPool("batch-get", workers)
    try:
        futures = [executor.submit(_unless_stopped, stop, run, chunk) for chunk in chunks]
        return [future.result() for future in futures]
    except BaseException:
        stop.set()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _unless_stopped(
    stop: threading.Event,
    run: Callable[[list[ItemKey]], Outcome[ItemKey]],
    chunk: list[ItemKey],
) -> Outcome[ItemKey] | None:
    return None if stop.is_set() else run(chunk)


def _raise_if_incomplete(
    table: Table, policy: RetryPolicy, outcomes: list[Outcome[ItemKey]], unsent: list[ItemKey]
) -> None:
    for outcome in outcomes:
        if outcome.error is not None and not outcome.gave_up:
            raise outcome.error
    left = [k for o in outcomes for k in o.left] + unsent
    if not left:
        return
    cause = next((o.error for o in outcomes if o.error is not None), None)
    raise BatchIncomplete(
        f"batch_get on {table.name!r}: {len(left)} key(s) were not read after the retry policy "
        f"ran out ({policy.describe()}); nothing more was sent. They "
        "are in .unprocessed (ItemKeys).",
        unprocessed=left,
    ) from cause
