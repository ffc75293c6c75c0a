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
    Outcome,
    PhysicalKey,
    ProgressCallback,
    StopGate,
    check_entity_class,
    key_tuple,
    physical_key,
    send_until_done,
)
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


__all__ = ["batch_get", "item_keys", "key_read_decoder", "projection"]

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
    if workers < 1:
        raise ValidationError(f"batch_get: workers must be at least 1, got {workers!r}")
    requested = item_keys(table, keys, "batch_get")
    distinct: dict[PhysicalKey, ItemKey] = {}
    for key in requested:
        distinct.setdefault(key_tuple(key), key)
    policy = policy or table.retry_policy
    bound = bind(table)  # every request of this call goes to one table, read back by name
    name = bound.name
    members = projection(table, select, distinct.values())
    meter = Meter("batch_get", progress)
    meter.total = len(distinct)
    found: dict[PhysicalKey, dict[str, Any]] = {}
    found_lock = threading.Lock()
    stop = threading.Event()
    gate = StopGate(stop)  # once stopped, no request of this batch is sent

    def build(chunk: list[ItemKey]) -> dict[str, Any]:
        spec = {"Keys": [k.to_request() for k in chunk], "ConsistentRead": consistent, **members}
        return {"RequestItems": {name: spec}, "ReturnConsumedCapacity": "TOTAL"}

    def receive(response: dict[str, Any]) -> list[PhysicalKey]:
        items = response.get("Responses", {}).get(name, [])
        with found_lock:
            for item in items:
                found[physical_key(table, item)] = item
        left = response.get("UnprocessedKeys", {}).get(name, {}).get("Keys", [])
        return [physical_key(table, k) for k in left]

    def run(chunk: list[ItemKey]) -> Outcome[ItemKey]:
        retrier = Retrier(policy, f"BatchGetItem on {name!r}", stop=stop)
        pending = {key_tuple(k): k for k in chunk}
        outcome = send_until_done(
            bound.transport,
            "BatchGetItem",
            pending,
            build=build,
            receive=receive,
            retrier=retrier,
            meter=meter,
            noun="key",
            gate=gate,
        )
        if outcome.left or outcome.error is not None:
            stop.set()
        return outcome

    everything = list(distinct.values())
    chunks = [
        everything[i : i + BATCH_GET_LIMIT] for i in range(0, len(everything), BATCH_GET_LIMIT)
    ]
    if workers == 1 or len(chunks) <= 1:
        outcomes = []
        for chunk in chunks:
            outcomes.append(run(chunk))
            if stop.is_set():
                break
        sent = sum(len(c) for c in chunks[: len(outcomes)])
        unsent = everything[sent:]
    else:
        results = _run_all(workers, stop, run, chunks)
        outcomes = [o for o in results if o is not None]
        unsent = [k for chunk, o in zip(chunks, results, strict=True) if o is None for k in chunk]
    _raise_if_incomplete(table, policy, outcomes, unsent)
    decode = key_read_decoder(table, select, distinct.values())
    return [
        decode(found[key_tuple(key)], key.entity) if key_tuple(key) in found else None
        for key in requested
    ]


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
