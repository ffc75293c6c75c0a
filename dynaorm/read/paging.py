"""Reading page by page: the shared engine behind queries, item collections and scans.

A reader (:class:`Reader`) is an immutable description; ``_plan()`` compiles it once into a
:class:`Plan` (the request without its paging members, a decoder, and what a cursor must
hold). The engine then sends requests, decodes items and tracks the exact position after the
last item handed out, so a cursor taken anywhere resumes with no item skipped or repeated.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import attrs
from pynamodb.expressions.condition import Condition

from dynaorm.base.errors import InvalidCursor, ValidationError
from dynaorm.model.table import TableBinding, bind
from dynaorm.model.unknown_items import UnknownItem, report_unknown
from dynaorm.read.cursor import CursorKeys, cursor_keys, decode_cursor, encode_cursor
from dynaorm.read.read_ahead import Requests
from dynaorm.read.support import Counting, ReadPart
from dynaorm.wire.rate import ReadRateLimiter, capacity_units, charge
from dynaorm.wire.retry import Retrier

if TYPE_CHECKING:
    from dynaorm.model.table import Table

__all__ = ["Page", "Plan", "Reader", "UnknownItem", "capacity_units"]

T = TypeVar("T")


Signer = Callable[[Mapping[str, Any]], str]


@attrs.frozen
class Page(Generic[T]):
    """One page of results.

    Attributes:
        items: The decoded items, in key order (scan pages: in each segment's order).
        scanned_count: Items DynamoDB evaluated, before filtering.
        consumed_capacity: Read capacity units the requests consumed, when the server says.
        unknown: The items this page read that no entity of the asked type claims (no type
            attribute, or a type naming no registered entity), as
            :class:`~dynaorm.UnknownItem` records, under the table's ``unknown_items="keep"``
            policy. Entity queries and scans keep them off ``items`` (and log a warning);
            mixed reads (partitions, table scans) also have them among ``items``.
    """

    items: tuple[T, ...]
    scanned_count: int = 0
    consumed_capacity: float | None = None
    _position: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    _signer: Signer | None = attrs.field(default=None, repr=False, eq=False)
    unknown: tuple[UnknownItem, ...] = attrs.field(default=(), kw_only=True)

    @functools.cached_property
    def cursor(self) -> str | None:
        """Resumes right after the last item (``query.after(cursor)``); ``None`` when nothing
        follows. Signed on first use, so reads that never take a cursor need no secret."""
        if self._position is None or self._signer is None:
            return None
        return self._signer(self._position)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _add(total: float | None, more: float | None) -> float | None:
    if more is None:
        return total
    return more if total is None else total + more


@attrs.frozen
class Plan(Generic[T]):
    """A reader compiled for execution.

    A plan is built when its read starts running and is bound to the table as it is then
    (:class:`~dynaorm.model.table.TableBinding`): every page, read-ahead request and segment
    worker sends to the bound name and transport, and cursors are signed and verified with
    the bound settings' keys, even after the ``table.override()`` block it started in ended.

    Attributes:
        table: The table read (its entities, type attribute and unknown-items policy).
        operation: ``"Query"`` or ``"Scan"``.
        request: The request without ``ExclusiveStartKey`` and ``Limit``.
        decode: Raw item -> result.
        position_attributes: The key attributes that locate an item (a cursor holds them).
        digest: What cursors are bound to.
        partition: ``(attribute, text)`` a cursor's position must have (queries).
        sort_range: ``(attribute, test)``: a cursor's sort-key text must pass ``test`` (queries
            with a sort-key condition; every item they return does).
        page_size: ``Limit`` of every request, when set. Without it, a limited read asks
            for what it still wants: the first request for the items still wanted, later ones
            for as many as the filter's observed selectivity says it takes to find them
            (doubling while nothing matches), so a page neither reads a whole megabyte to keep
            a few items nor crawls in tiny requests.
        limiter: Paces requests by the read capacity they consume.
        max_age: Seconds after which a cursor is refused as expired (else the table's
            ``cursor_max_age``).
        mixed: Whether :class:`~dynaorm.UnknownItem` records the decoder returns are results
            too (multi-type reads); otherwise they are only on ``page.unknown``.
        what: The read, for warnings (``"Order.query()"``).
        binding: Where requests go: the table's name, transport and settings as of the
            plan's building (the request's ``TableName`` is ``binding.name``).
        counting: How :meth:`count` counts exactly the results the read gives (see
            :func:`~dynaorm.read.support.read_decoding`): ``"count"`` with ``Select=COUNT``
            of the request, ``"split"`` with ``Select=COUNT`` of its typed part plus a read
            of its untyped part (``count_parts``), ``"read"`` by reading and decoding.
        count_parts: Makes the typed and untyped plans of a ``"split"`` count (same binding).
    """

    table: Table
    operation: str
    request: Mapping[str, Any]
    decode: Callable[[dict[str, Any]], T | UnknownItem]
    position_attributes: tuple[str, ...]
    digest: bytes
    partition: tuple[str, str] | None = None
    sort_range: tuple[str, Callable[[str], bool]] | None = None
    page_size: int | None = None
    limiter: ReadRateLimiter | None = None
    max_age: float | None = None
    mixed: bool = False
    what: str = ""
    binding: TableBinding = attrs.field(
        default=attrs.Factory(lambda plan: bind(plan.table), takes_self=True), repr=False
    )
    counting: Counting = "count"
    count_parts: Callable[[], tuple[Plan[Any], Plan[Any]]] | None = attrs.field(
        default=None, repr=False
    )

    def decode_page(
        self, raw: list[dict[str, Any]], remaining: int | None
    ) -> tuple[list[T], list[UnknownItem], int]:
        """Decode a response's items until ``remaining`` results are found.

        Returns:
            The results, the unknown items read, and how many raw items were used (the
            position after the last of them is where reading goes on).
        """
        items: list[T] = []
        unknown: list[UnknownItem] = []
        used = 0
        for item in raw:
            if remaining is not None and len(items) >= remaining:
                break
            used += 1
            result = self.decode(item)
            if isinstance(result, UnknownItem):
                unknown.append(result)
                if not self.mixed:
                    continue
            items.append(result)  # type: ignore[arg-type]
        if unknown and not self.mixed:
            report_unknown(self.table, self.what, unknown)
        return items, unknown, used

    def send(self, request: dict[str, Any], stop: threading.Event | None = None) -> dict[str, Any]:
        """Send one request (after the rate limiter allows it).

        Args:
            request: The request.
            stop: Set by the consumer (on another thread) when it stops reading: no request
                starts after it, and a failed attempt is not retried.

        Raises:
            CancelledError: ``stop`` was set before the request was sent.
        """
        if self.limiter is not None:
            self.limiter.acquire(stop)
        transport = self.binding.transport
        if stop is None:
            response = transport.call(self.operation, request, idempotent=True)
        else:
            if stop.is_set():
                raise CancelledError("the reader was stopped")
            retrier = Retrier(transport.policy, self.operation, stop=stop)
            response = transport.call(self.operation, request, idempotent=True, retrier=retrier)
        charge(self.limiter, response, consistent=bool(request.get("ConsistentRead")))
        return response

    def request_for(
        self, position: Mapping[str, Any] | None, remaining: int | None
    ) -> dict[str, Any]:
        """The request that reads on from ``position`` wanting ``remaining`` more items."""
        request = dict(self.request)
        limit = self.page_size or remaining
        if limit is not None:
            request["Limit"] = limit
        if position is not None:
            request["ExclusiveStartKey"] = dict(position)
        return request

    def keys(self) -> CursorKeys:
        """The keys that make and verify this table's cursors.

        Raises:
            ConfigurationError: No cursor secret is configured for a non-local endpoint.
        """
        return cursor_keys(self.binding.settings)

    def sign(self, position: Mapping[str, Any]) -> str:
        """Sign (or encrypt) ``position`` as a cursor of this plan's query.

        Raises:
            ConfigurationError: No cursor secret is configured for a non-local endpoint.
        """
        return encode_cursor(self.keys(), self.digest, position)

    def position_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The exclusive start key right after ``item``."""
        try:
            return {name: item[name] for name in self.position_attributes}
        except KeyError as exc:
            raise ValidationError(
                f"an item lacks key attribute {exc.args[0]!r} needed to resume after it"
            ) from None

    def start(self, cursor: str | None) -> dict[str, Any] | None:
        """Verify ``cursor`` and return the position it resumes from.

        Raises:
            InvalidCursor: The cursor is malformed, tampered with, another query's, or
                expired.
            ConfigurationError: No cursor secret is configured for a non-local endpoint.
        """
        if cursor is None:
            return None
        position = decode_cursor(self.keys(), cursor, self.digest, max_age=self.max_age)
        names = set(self.position_attributes)
        if set(position) != names or not all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
            for v in position.values()
        ):
            raise InvalidCursor("the cursor's position does not fit this query's keys")
        if self.partition is not None:
            attribute, text = self.partition
            if position[attribute]["S"] != text:
                raise InvalidCursor("the cursor belongs to another partition")
        if self.sort_range is not None:
            attribute, matches = self.sort_range
            if not matches(position[attribute]["S"]):
                raise InvalidCursor("the cursor's position is outside this query's sort-key range")
        return position

    def responses(
        self, position: Mapping[str, Any] | None, cap: int | None, *, read_ahead: bool = False
    ) -> Iterator[tuple[list[T], list[UnknownItem], Mapping[str, Any] | None, dict[str, Any]]]:
        """Send requests from ``position``; yield, per response, its decoded results (at most
        ``cap`` in all) and unknown items, the position right after the last item used
        (``None``: nothing follows) and the response itself.

        A request is sent on the caller's thread when the next response is wanted; with
        ``read_ahead``, on a worker thread as soon as the current response says where it ends.
        Closing the iterator stops at once (no request is started or retried after it).
        """
        remaining = cap
        evaluated = matched = 0
        asked = _next_ask(remaining, evaluated, matched, cap)
        requests = Requests(self.send, ahead=read_ahead)
        try:
            requests.submit(self.request_for(position, asked))
            while True:
                response = requests.answer()
                raw: list[dict[str, Any]] = response.get("Items", [])
                after: Mapping[str, Any] | None = response.get("LastEvaluatedKey")
                evaluated += int(response.get("ScannedCount", len(raw)))
                matched += len(raw)
                items, unknown, used = self.decode_page(raw, remaining)
                if 0 < used < len(raw):
                    after = self.position_of(raw[used - 1])
                if remaining is not None:
                    remaining -= len(items)
                more = after is not None and (remaining is None or remaining > 0)
                if more:
                    asked = _next_ask(remaining, evaluated, matched, asked)
                    requests.submit(self.request_for(after, asked))
                yield items, unknown, after, response
                if not more:
                    return
        finally:
            requests.close()

    def stream(
        self, position: Mapping[str, Any] | None, cap: int | None, *, read_ahead: bool = False
    ) -> Iterator[Page[T]]:
        """Send requests from ``position``; yield one page per response, at most ``cap``
        items in all. Each page's cursor resumes right after its last item. With
        ``read_ahead`` the next request is sent before the current page is decoded."""
        responses = self.responses(position, cap, read_ahead=read_ahead)
        try:
            for items, unknown, after, response in responses:
                yield Page(
                    tuple(items),
                    int(response.get("ScannedCount", 0)),
                    capacity_units(response),
                    position=after,
                    signer=self.sign,
                    unknown=tuple(unknown),
                )
        finally:
            close(responses)

    def count(
        self,
        position: Mapping[str, Any] | None,
        cap: int | None,
        stop: threading.Event | None = None,
    ) -> int:
        """Count the items the read returns as results, up to ``cap``: with ``Select=COUNT``
        (no items transferred) of the typed items, plus the untyped ones the decoder takes
        as results (read, not counted: they are normally none), as pages decode them.

        Raises:
            CancelledError: ``stop`` was set (see :meth:`send`).
            UnknownEntityType: Under ``unknown_items="raise"`` (or ``strict``), an item in
                the read's range is unknown (pages would raise for it too).
        """
        if self.counting == "read":
            return self._count_results(position, cap, stop)
        if self.counting == "split" and self.count_parts is not None:
            typed, untyped = self.count_parts()
            # The untyped part first: under "raise" an unknown item fails the count early.
            found = untyped._count_results(position, cap, stop)
            if cap is not None and found >= cap:
                return cap
            return found + typed.count(position, None if cap is None else cap - found, stop)
        total = 0
        while cap is None or total < cap:
            request = self.request_for(position, None)
            request.pop("ProjectionExpression", None)
            request["Select"] = "COUNT"
            _drop_unused_names(request)
            response = self.send(request, stop)
            total += int(response.get("Count", 0))
            position = response.get("LastEvaluatedKey")
            if position is None:
                break
        return total if cap is None else min(total, cap)

    def _count_results(
        self, position: Mapping[str, Any] | None, cap: int | None, stop: threading.Event | None
    ) -> int:
        """Read from ``position`` and count the decoded results (decoding reports or raises
        for unknown items as pages do), up to ``cap``."""
        total = 0
        while cap is None or total < cap:
            response = self.send(self.request_for(position, None), stop)
            raw: list[dict[str, Any]] = response.get("Items", [])
            items, _, _ = self.decode_page(raw, None if cap is None else cap - total)
            total += len(items)
            position = response.get("LastEvaluatedKey")
            if position is None:
                break
        return total


def close(iterator: Iterator[Any]) -> None:
    """Close ``iterator`` when it is a generator (its ``finally`` blocks run now, not when it
    is garbage collected)."""
    closer = getattr(iterator, "close", None)
    if closer is not None:
        closer()


def _items(pages: Iterator[Page[T]]) -> Iterator[T]:
    try:
        for page in pages:
            yield from page.items
    finally:
        close(pages)


def _next_ask(remaining: int | None, evaluated: int, matched: int, asked: int | None) -> int | None:
    """How many items to let DynamoDB evaluate next to find ``remaining`` matches."""
    if remaining is None or asked is None or evaluated == 0:
        return remaining
    if matched == 0:
        return max(asked * 2, remaining)
    return max(remaining, -(-remaining * evaluated // matched))


def _drop_unused_names(request: dict[str, Any]) -> None:
    """Remove names only the dropped projection used (DynamoDB refuses unused names)."""
    names = request.get("ExpressionAttributeNames")
    if not names:
        return
    text = " ".join(
        str(request.get(member, ""))
        for member in ("KeyConditionExpression", "FilterExpression", "ProjectionExpression")
    )
    used = {p: n for p, n in names.items() if _mentions(text, p)}
    if used:
        request["ExpressionAttributeNames"] = used
    else:
        del request["ExpressionAttributeNames"]


def _mentions(text: str, placeholder: str) -> bool:
    start = text.find(placeholder)
    while start >= 0:
        end = start + len(placeholder)
        if end == len(text) or not (text[end].isalnum() or text[end] == "_"):
            return True
        start = text.find(placeholder, end)
    return False


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
        items: list[T] = []
        unknown: list[UnknownItem] = []
        scanned = 0
        consumed: float | None = None
        last: Page[T] | None = None
        # Without a limit one response is the page: nothing to read ahead.
        ahead = self.reads_ahead and self.max_items is not None
        pages = plan.stream(position, self.max_items, read_ahead=ahead)
        try:
            for last in pages:
                items.extend(last.items)
                unknown.extend(last.unknown)
                scanned += last.scanned_count
                consumed = _add(consumed, last.consumed_capacity)
                if self.max_items is None:
                    break
        finally:
            close(pages)
        after = last._position if last is not None else None
        return Page(
            tuple(items),
            scanned,
            consumed,
            position=after,
            signer=plan.sign,
            unknown=tuple(unknown),
        )

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
