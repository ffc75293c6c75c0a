"""Reading page by page: what queries, item collections and scans share.

A reader (:class:`Reader`) is an immutable description; ``_plan()`` compiles it once into a
:class:`~dynaorm.read.plan.Plan` (the request without its paging members, a decoder, and
what a cursor must hold), which sends the requests and tracks the exact position after the
last item handed out, so a cursor taken anywhere resumes with no item skipped or repeated.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Generic, Self, TypeVar

import attrs
from pynamodb.expressions.condition import Condition

from dynaorm.base.errors import ValidationError
from dynaorm.model.unknown_items import UnknownItem
from dynaorm.read.page import Page, Signer, close
from dynaorm.read.plan import Plan
from dynaorm.read.support import ReadPart
from dynaorm.wire.connection import TableBinding

__all__ = ["Reader"]

T = TypeVar("T")


def _add(total: float | None, more: float | None) -> float | None:
    if more is None:
        return total
    return more if total is None else total + more


def _items(pages: Iterator[Page[T]]) -> Iterator[T]:
    try:
        for page in pages:
            yield from page.items
    finally:
        close(pages)


def _positive(what: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationError(f"{what} must be a positive integer, got {value!r}")
    return value


@attrs.frozen(eq=False, kw_only=True)
class Reader(Generic[T]):
    """What queries and scans share: filters, limits, consistency, cursors and execution.

    Every builder method returns a new reader; the original is unchanged, so a base reader
    can be stored and specialised.
    """

    filters: tuple[Condition, ...] = ()
    max_items: int | None = None
    request_limit: int | None = None
    consistent_read: bool = False
    cursor: str | None = None
    reads_ahead: bool = False
    cursor_max_age: float | None = None

    # -- to implement --------------------------------------------------------------------

    def _plan(self, part: ReadPart = "read", bound: TableBinding | None = None) -> Plan[T]:
        """The plan of this read, bound to ``bound`` (else to the table as it is now);
        ``part`` selects the typed or untyped part of an entity read (``count()``)."""
        raise NotImplementedError

    def _count_parts(self, bound: TableBinding) -> tuple[Plan[T], Plan[T]]:
        return self._plan("typed", bound), self._plan("untyped", bound)

    def _check_filter(self, condition: Condition) -> None:
        """Raise ValidationError for a filter this reader cannot send."""

    def _check_consistent(self) -> None:
        """Raise ValidationError when strongly consistent reads are impossible."""

    # -- building ------------------------------------------------------------------------

    def where(self, *conditions: Condition) -> Self:
        """AND filter conditions (applied by DynamoDB after reading, before returning).

        Raises:
            ValidationError: A condition names a key attribute (DynamoDB refuses those in
                filters; use ``range()``) or an attribute of another entity.
        """
        for condition in conditions:
            if not isinstance(condition, Condition):
                raise ValidationError(
                    f"where() takes conditions such as Order.total > 5, got {condition!r}"
                )
            self._check_filter(condition)
        return attrs.evolve(self, filters=(*self.filters, *conditions))

    def limit(self, n: int | None) -> Self:
        """Return at most ``n`` items in all (after filtering); ``page()`` returns ``n`` at a
        time. ``None`` removes the limit.

        Raises:
            ValidationError: ``n`` is not a positive integer.
        """
        return attrs.evolve(self, max_items=_positive("limit", n))

    def page_size(self, n: int | None) -> Self:
        """Send ``Limit=n``: DynamoDB evaluates at most ``n`` items per request.

        Raises:
            ValidationError: ``n`` is not a positive integer.
        """
        return attrs.evolve(self, request_limit=_positive("page_size", n))

    def consistent(self, flag: bool = True) -> Self:
        """Use strongly consistent reads.

        Raises:
            ValidationError: The reader targets a global secondary index.
        """
        if flag:
            self._check_consistent()
        return attrs.evolve(self, consistent_read=flag)

    def read_ahead(self, flag: bool = True) -> Self:
        """While a page is decoded and used, already read the next one (on a worker thread).

        Iterating then runs at the pace of the slower of the server and your code, rather
        than their sum. The requests are the same; but if you stop early, the one already
        sent for the next page has read (and consumed capacity) for nothing. Stopping does
        not wait for it: it is not retried, and its thread (``dynaorm-read-ahead_0``) ends
        once its answer comes. Without ``read_ahead()`` every request is sent on your thread
        when the next page is wanted.

        Example:
            >>> for order in Order.query(customer_id="c1").read_ahead():  # doctest: +SKIP
            ...     process(order)
        """
        return attrs.evolve(self, reads_ahead=flag)

    def after(self, cursor: str | None) -> Self:
        """Resume right after the position ``cursor`` (from a :class:`Page`) marks.

        The cursor is verified when the reader runs or compiles (:class:`InvalidCursor`).
        """
        return attrs.evolve(self, cursor=cursor)

    def max_age(self, seconds: float | datetime.timedelta | None) -> Self:
        """Refuse cursors issued more than ``seconds`` ago (``InvalidCursor`` saying it
        expired), overriding the table's ``cursor_max_age``; ``None``: the table's rule.

        Raises:
            ValidationError: ``seconds`` is not a positive duration.

        Example:
            >>> recent = Order.query(customer_id="c1").max_age(900)  # doctest: +SKIP
            >>> recent.after(cursor).page()  # doctest: +SKIP
        """
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0
        ):
            raise ValidationError(f"max_age must be a positive duration, got {seconds!r}")
        return attrs.evolve(self, cursor_max_age=None if seconds is None else float(seconds))

    # -- running -------------------------------------------------------------------------

    def compile(self) -> dict[str, Any]:
        """The first request exactly as it will be sent (``ExclusiveStartKey`` when resuming).

        Raises:
            InvalidCursor: The reader's cursor does not verify.
        """
        plan = self._plan()
        return plan.request_for(plan.start(self.cursor), self.max_items)

    def page(self, cursor: str | None = None) -> Page[T]:
        """Read one page: ``limit`` items when a limit is set (as many requests as that
        takes), otherwise the items of one response.

        Args:
            cursor: Resume from here instead of the reader's own cursor.

        Raises:
            InvalidCursor: The cursor does not verify or belongs to another query.
        """
        plan = self._plan()
        position = plan.start(cursor if cursor is not None else self.cursor)
        read: list[Page[T]] = []
        # Without a limit one response is the page: nothing to read ahead.
        ahead = self.reads_ahead and self.max_items is not None
        pages = plan.stream(position, self.max_items, read_ahead=ahead)
        try:
            for last in pages:
                read.append(last)
                if self.max_items is None:
                    break
        finally:
            close(pages)
        return combine(read, plan.sign)

    def pages(self) -> Iterator[Page[T]]:
        """Yield a page per response until the results (or the limit) are exhausted.

        The read is bound to the table when ``pages()`` is called: every page comes from the
        table (name, endpoint, region, credentials) of the ``table.override()`` in force
        then, even if the block has ended since, and the cursors are signed with its keys.
        """
        plan = self._plan()
        return plan.stream(plan.start(self.cursor), self.max_items, read_ahead=self.reads_ahead)

    def __iter__(self) -> Iterator[T]:
        """Stream every item, one response in memory at a time.

        The read is bound to the table here, as :meth:`pages` binds it: the iterator reads
        the table of the ``table.override()`` in force when it was made, to its end.
        """
        return _items(self.pages())

    def all(self) -> list[T]:
        """Every item (up to the limit) as a list."""
        return list(self)

    def first(self) -> T | None:
        """The first item, or ``None``."""
        for item in self.limit(1):
            return item
        return None

    def count(self) -> int:
        """How many items match (capped by the limit), using ``Select=COUNT`` across pages."""
        plan = self._plan()
        return plan.count(plan.start(self.cursor), self.max_items)

    # -- the same reads with await (dynaorm.read.async_reads) --------------------------------

    async def apage(self, cursor: str | None = None) -> Page[T]:
        """:meth:`page` with ``await`` (needs the ``async`` extra).

        Example:
            >>> page = await Order.query(customer_id="c1").limit(10).apage()  # doctest: +SKIP
        """
        from dynaorm.read.async_reads import apages, async_plan

        plan = async_plan(self)
        position = plan.start(cursor if cursor is not None else self.cursor)
        read: list[Page[T]] = []
        async for last in apages(plan, position, self.max_items):
            read.append(last)
            if self.max_items is None:
                break
        return combine(read, plan.sign)

    async def __aiter__(self) -> AsyncIterator[T]:
        """``async for item in query``: every item (up to the limit), a response at a time."""
        from dynaorm.read.async_reads import apages, async_plan

        plan = async_plan(self)
        async for page in apages(plan, plan.start(self.cursor), self.max_items):
            for item in page.items:
                yield item

    async def aall(self) -> list[T]:
        """:meth:`all` with ``await``."""
        return [item async for item in self]

    async def afirst(self) -> T | None:
        """:meth:`first` with ``await``."""
        async for item in self.limit(1):
            return item
        return None

    async def acount(self) -> int:
        """:meth:`count` with ``await``."""
        from dynaorm.read.async_reads import acount, async_plan

        plan = async_plan(self)
        return await acount(plan, plan.start(self.cursor), self.max_items)


def combine(pages: Sequence[Page[T]], signer: Signer) -> Page[T]:
    """The page of ``reader.page()`` made of the response pages read for it (its cursor
    resumes after the last one's)."""
    items: list[T] = []
    unknown: list[UnknownItem] = []
    scanned = 0
    consumed: float | None = None
    for one in pages:
        items.extend(one.items)
        unknown.extend(one.unknown)
        scanned += one.scanned_count
        consumed = _add(consumed, one.consumed_capacity)
    return Page(
        tuple(items),
        scanned,
        consumed,
        position=pages[-1]._position if pages else None,
        signer=signer,
        unknown=tuple(unknown),
    )
