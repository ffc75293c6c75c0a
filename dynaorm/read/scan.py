"""Scans: one entity type (``Order.scan()``) or every type (``shop.scan()``), in parallel
segments when asked, resumable from checkpoints, optionally paced by read capacity.

Example:
    >>> scan = Order.scan().where(Order.total > 100).segments(4).rate_limit(50)  # doctest: +SKIP
    >>> for page in scan.pages():  # doctest: +SKIP
    ...     handle(page.items)
    ...     store(page.checkpoint.dumps())  # after handling: resume with scan.resume(...)
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import attrs
from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from dynaorm.base.errors import InvalidCursor, ValidationError
from dynaorm.expressions.compile import ExpressionBuilder
from dynaorm.expressions.paths import path_of
from dynaorm.model.entity import check_concrete
from dynaorm.model.unknown_items import UnknownItem, is_strict
from dynaorm.read.cursor import request_digest
from dynaorm.read.cursor_secrets import cursor_keys
from dynaorm.read.page import Page
from dynaorm.read.plan import Plan
from dynaorm.read.reader import Reader
from dynaorm.read.scan_runner import (
    ScanCheckpoint,
    ScanPage,
    checkpoint_digest,
    count_segments,
    open_checkpoint,
    run_segments,
    seal_checkpoint,
)
from dynaorm.read.support import (
    ReadPart,
    add_read_expressions,
    check_filter_paths,
    read_decoding,
    require_type_attribute,
)
from dynaorm.wire.connection import TableBinding, bind
from dynaorm.wire.rate import ReadRateLimiter

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

__all__ = ["Scan"]

T = TypeVar("T")
E = TypeVar("E", bound="Entity")
_MAX_SEGMENTS = 1_000_000


@attrs.frozen(eq=False, kw_only=True)
class Scan(Reader[T], Generic[T]):
    """A scan of a table or index: every item of one entity type, or of every type.

    Build it with ``Order.scan()`` or ``shop.scan()``. Like a query it takes ``where()``,
    ``select()``, ``limit()``, ``page_size()``, ``consistent()`` and ``after(cursor)``; it
    also runs as ``segments(n)`` in parallel, ``segment(i, of=n)`` alone, from a checkpoint
    (``resume()``), and at a bounded read rate (``rate_limit()``).

    A table scan yields entities of every registered type and, for items no entity claims,
    :class:`~dynaorm.UnknownItem` records (or raises with ``strict=True``).
    """

    table: Table
    entity: type[Entity] | None = None
    types: tuple[type[Entity], ...] = ()
    index: str | None = None
    strict: bool | None = None
    projection: tuple[Path, ...] = ()
    total_segments: int = 1
    segment_number: int | None = None
    workers: int | None = None
    read_rate: float | None = None
    checkpoint: ScanCheckpoint | None = None

    @classmethod
    def of_entity(cls, entity: type[E], *, index: str | None = None) -> Scan[E]:
        """A scan of ``entity``'s items (``Order.scan()``).

        Raises:
            ConfigurationError: ``entity`` is abstract or the table has no such index.
            ValidationError: The index does not hold the type attribute (``KEYS_ONLY``).
        """
        check_concrete(entity)
        table = entity.__table__
        if index is not None:
            require_type_attribute(table, table.index(index), f"{entity.__qualname__}.scan()")
        return cast("Scan[E]", cls(table=table, entity=entity, index=index))

    @classmethod
    def of_table(
        cls,
        table: Table,
        *,
        types: Iterable[type[Entity]] = (),
        index: str | None = None,
        strict: bool | None = None,
    ) -> Scan[Entity | UnknownItem]:
        """A scan of every item of ``table`` (``shop.scan()``), optionally only ``types``.

        Raises:
            ValidationError: A type is not an entity of ``table``, or types are given and the
                index does not hold the type attribute (``KEYS_ONLY``).
            ConfigurationError: The table has no such index.
        """
        chosen = _registered(table, types)
        if index is not None:
            found = table.index(index)
            if chosen:
                require_type_attribute(table, found, f"{table.name}.scan(types=...)")
        return cast(
            "Scan[Entity | UnknownItem]",
            cls(table=table, types=chosen, index=index, strict=strict),
        )

    @property
    def _what(self) -> str:
        return f"{self.entity.__qualname__}.scan()" if self.entity else f"{self.table.name}.scan()"

    @property
    def _parallel(self) -> bool:
        return self.total_segments > 1 and self.segment_number is None

    # -- building ------------------------------------------------------------------------

    def select(self, *targets: Attribute[Any] | Path | str) -> Scan[T]:
        """Read only these attributes (plus type and keys); results are partial entities."""
        return attrs.evolve(self, projection=(*self.projection, *(path_of(t) for t in targets)))

    def segments(self, n: int, *, workers: int | None = None) -> Scan[T]:
        """Scan in ``n`` parallel segments on a thread pool (``workers`` threads named
        ``dynaorm-scan_<k>``, default ``n``). Iteration then yields items as segments deliver
        them, in no global order. Leaving the loop early stops at once: segments not started
        are cancelled and no request is retried; requests in flight are not waited for.

        Raises:
            ValidationError: ``n`` or ``workers`` is not a positive integer.
        """
        if not isinstance(n, int) or not 1 <= n <= _MAX_SEGMENTS:
            raise ValidationError(f"segments must be 1..{_MAX_SEGMENTS}, got {n!r}")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValidationError(f"workers must be a positive integer, got {workers!r}")
        return attrs.evolve(self, total_segments=n, segment_number=None, workers=workers)

    def segment(self, number: int, *, of: int) -> Scan[T]:
        """Scan only segment ``number`` of ``of`` (to spread a scan over processes); it pages
        and takes cursors like a sequential scan.

        Raises:
            ValidationError: ``number`` is not in ``0..of-1``.
        """
        if not isinstance(of, int) or not 1 <= of <= _MAX_SEGMENTS:
            raise ValidationError(f"of must be 1..{_MAX_SEGMENTS}, got {of!r}")
        if not isinstance(number, int) or not 0 <= number < of:
            raise ValidationError(f"segment must be in 0..{of - 1}, got {number!r}")
        return attrs.evolve(self, total_segments=of, segment_number=number)

    def rate_limit(self, read_units_per_second: float | None) -> Scan[T]:
        """Pace requests so the scan consumes about this many read capacity units per second
        (from each response's ``ConsumedCapacity``); ``None`` removes the limit.

        Raises:
            ValidationError: The rate is not positive.
        """
        if read_units_per_second is not None and not read_units_per_second > 0:
            raise ValidationError(f"the read rate must be positive, got {read_units_per_second}")
        return attrs.evolve(self, read_rate=read_units_per_second)

    def resume(self, checkpoint: ScanCheckpoint | str) -> Scan[T]:
        """Continue from a checkpoint (a :class:`ScanCheckpoint` or its ``dumps()`` text),
        with as many segments as it has.

        Raises:
            InvalidCursor: The text is not a checkpoint of this scan (malformed, edited, made
                with a secret not configured, or another scan's): checked here, before any
                request.
            ConfigurationError: No cursor secret is configured for a non-local endpoint.
        """
        if isinstance(checkpoint, str):
            checkpoint = self._load_checkpoint(checkpoint)
        return attrs.evolve(
            self,
            checkpoint=checkpoint,
            total_segments=checkpoint.total_segments,
            segment_number=None,
            cursor=None,
        )

    def _load_checkpoint(self, text: str) -> ScanCheckpoint:
        digest, positions, done = open_checkpoint(cursor_keys(self.table.settings), text)
        total = len(positions)
        if total > _MAX_SEGMENTS:
            raise InvalidCursor("the checkpoint's contents are unreadable")
        resumed = attrs.evolve(
            self, checkpoint=None, total_segments=total, segment_number=None, cursor=None
        )
        plans = resumed._plans_for(total, None)
        if digest != checkpoint_digest(plans):
            raise InvalidCursor(
                "the checkpoint belongs to another scan (table, index, types, filter, "
                "projection or segment count differ); start the scan again without it"
            )
        cursors = tuple(
            None if position is None else plan.sign(position)
            for plan, position in zip(plans, positions, strict=True)
        )
        sealer = functools.partial(seal_checkpoint, plans, positions, done)
        return ScanCheckpoint(total, cursors, done, sealer=sealer)

    def _check_filter(self, condition: Condition) -> None:
        check_filter_paths(condition, self.table, self.entity, refuse_keys=False, what=self._what)

    def _check_consistent(self) -> None:
        if self.index is not None and not self.table.index(self.index).local:
            raise ValidationError(
                f"{self._what}: global index {self.index!r} supports only eventually "
                "consistent reads"
            )

    # -- compiling -----------------------------------------------------------------------

    def _plan(self, part: ReadPart = "read", bound: TableBinding | None = None) -> Plan[T]:
        limiter = ReadRateLimiter(self.read_rate) if self.read_rate else None
        return self._segment_plan(self.segment_number, limiter, bound or bind(self.table), part)

    def _plans_for(self, total: int, limiter: ReadRateLimiter | None) -> list[Plan[T]]:
        """One plan per segment of a run with ``total`` segments (1: this scan's own), all
        bound to the table as it is now: every segment worker reads the same table."""
        bound = bind(self.table)
        if total == 1:
            return [self._segment_plan(self.segment_number, limiter, bound)]
        return [self._segment_plan(i, limiter, bound) for i in range(total)]

    def _segment_plan(
        self,
        segment: int | None,
        limiter: ReadRateLimiter | None,
        bound: TableBinding,
        part: ReadPart = "read",
    ) -> Plan[T]:
        table = self.table
        index = table.index(self.index) if self.index is not None else None
        builder = ExpressionBuilder()
        request: dict[str, Any] = {"TableName": bound.name}
        if index is not None:
            request["IndexName"] = index.name
        names = (
            [self.entity.__type_name__] if self.entity else [t.__type_name__ for t in self.types]
        )
        filters, decoder, counting = read_decoding(
            table,
            index,
            self.projection,
            names,
            entity=self.entity,
            strict=is_strict(table, self.strict),
            part=part,
        )
        filters.extend(self.filters)
        positions = add_read_expressions(request, builder, table, index, filters, self.projection)
        if segment is not None:
            request["Segment"] = segment
            request["TotalSegments"] = self.total_segments
        request["ConsistentRead"] = self.consistent_read
        request["ReturnConsumedCapacity"] = "TOTAL"
        return Plan(
            table=table,
            binding=bound,
            operation="Scan",
            request=request,
            decode=decoder.read,  # type: ignore[arg-type]
            position_attributes=positions,
            digest=request_digest(request, kind="scan", types=names),
            page_size=self.request_limit,
            limiter=limiter,
            max_age=self.cursor_max_age,
            mixed=self.entity is None,
            what=self._what,
            counting=counting,
            count_parts=functools.partial(self._segment_parts, segment, limiter, bound),
        )

    def _segment_parts(
        self, segment: int | None, limiter: ReadRateLimiter | None, bound: TableBinding
    ) -> tuple[Plan[T], Plan[T]]:
        return (
            self._segment_plan(segment, limiter, bound, "typed"),
            self._segment_plan(segment, limiter, bound, "untyped"),
        )

    def compile(self) -> dict[str, Any]:
        """The first request exactly as it will be sent.

        Raises:
            ValidationError: The scan is parallel; compile one ``segment(i, of=n)`` instead.
            InvalidCursor: The scan's cursor does not verify.
        """
        if self._parallel:
            raise ValidationError(
                f"{self._what} runs {self.total_segments} segments; compile "
                "segment(i, of=n) to see one segment's request"
            )
        return super().compile()

    # -- running -------------------------------------------------------------------------

    def _checkpoint(self) -> ScanCheckpoint:
        if self.checkpoint is not None:
            return self.checkpoint
        if self._parallel and self.cursor is not None:
            raise ValidationError(
                f"{self._what}: a parallel scan resumes from a checkpoint (resume()), not a cursor"
            )
        start = ScanCheckpoint.start(1 if not self._parallel else self.total_segments)
        return attrs.evolve(start, cursors=(self.cursor,)) if not self._parallel else start

    def pages(self) -> Iterator[ScanPage[T]]:
        """Yield pages as segments deliver them, each with a checkpoint of every segment.

        Raises:
            InvalidCursor: The cursor or a checkpointed cursor does not belong to this scan.
        """
        plans, checkpoint, workers = self._run()
        return run_segments(
            plans, checkpoint, self.max_items, workers=workers, read_ahead=self.reads_ahead
        )

    def _run(self) -> tuple[list[Plan[T]], ScanCheckpoint, int]:
        """The plans of a run of the scan, where they start, and how many run at once."""
        checkpoint = self._checkpoint()
        limiter = ReadRateLimiter(self.read_rate) if self.read_rate else None
        plans = self._plans_for(checkpoint.total_segments, limiter)
        return plans, checkpoint, 1 if len(plans) == 1 else self.workers or len(plans)

    def page(self, cursor: str | None = None) -> Page[T]:
        """Read one page of a sequential scan or of one ``segment()`` (see :meth:`Query.page`).

        Raises:
            ValidationError: The scan is parallel (use :meth:`pages`).
            InvalidCursor: The cursor does not verify or belongs to another scan.
        """
        if self._parallel or self.checkpoint is not None:
            raise ValidationError(
                f"{self._what}: a parallel or resumed scan reads through pages() or iteration"
            )
        return super().page(cursor)

    def count(self) -> int:
        """Count matching items (``Select=COUNT``), segments in parallel; capped by the limit."""
        if not self._parallel and self.checkpoint is None:
            return super().count()
        return count_segments(*self._run(), self.max_items)

    # -- the same reads with await (dynaorm.read.async_scans) ------------------------------

    def apages(self) -> AsyncIterator[ScanPage[T]]:
        """:meth:`pages` with ``async for``: segments run as asyncio tasks (at most
        ``workers`` at once), no thread; leaving the loop or cancelling cancels them at once
        (``async for page in Order.scan().segments(4).apages(): ...``)."""
        from dynaorm.read.async_scans import arun_segments

        return arun_segments(*self._run(), self.max_items)

    def __aiter__(self) -> AsyncIterator[T]:
        """``async for item in scan`` (a parallel or resumed scan through :meth:`apages`)."""
        if not self._parallel and self.checkpoint is None:
            return super().__aiter__()
        from dynaorm.read.async_scans import aitems

        return aitems(self.apages())

    async def acount(self) -> int:
        """:meth:`count` with ``await``, the segments counted by asyncio tasks."""
        if not self._parallel and self.checkpoint is None:
            return await super().acount()
        from dynaorm.read.async_scans import acount_segments

        return await acount_segments(*self._run(), self.max_items)


def _registered(table: Table, types: Iterable[type[Entity]]) -> tuple[type[Entity], ...]:
    chosen = tuple(types)
    for entity in chosen:
        if table.entities.get(getattr(entity, "__type_name__", "")) is not entity:
            raise ValidationError(
                f"{getattr(entity, '__qualname__', entity)!r} is not an entity of table "
                f"{table.name!r}"
            )
    return chosen
