"""The engine behind queries, item collections and scans: a read compiled into a
:class:`Plan` (the request without its paging members, a decoder, and what a cursor must
hold).

A plan sends requests, decodes items and tracks the exact position after the last item
handed out, so a cursor taken anywhere resumes with no item skipped or repeated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from dynaorm.base.errors import InvalidCursor, ValidationError
from dynaorm.model.unknown_items import UnknownItem, report_unknown
from dynaorm.read.cursor import decode_cursor, encode_cursor
from dynaorm.read.cursor_secrets import cursor_keys
from dynaorm.read.page import Page, close
from dynaorm.read.progress import ReadProgress
from dynaorm.read.read_ahead import Requests
from dynaorm.read.support import Counting
from dynaorm.read.tokens import CursorKeys
from dynaorm.wire.connection import TableBinding, bind
from dynaorm.wire.rate import ReadRateLimiter, capacity_units, charge
from dynaorm.wire.retry import Retrier

if TYPE_CHECKING:
    from dynaorm.api.table import Table

__all__ = ["Plan"]

T = TypeVar("T")


@attrs.frozen
class Plan(Generic[T]):
    """A reader compiled for execution.

    A plan is built when its read starts running and is bound to the table as it is then
    (:class:`~dynaorm.wire.connection.TableBinding`): every page, read-ahead request and segment
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
    decode: Callable[[dict[str, Any]], T | UnknownItem | None]
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
            if result is None:
                continue  # classified as another entity (a table without a type attribute)
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
        return self.check_position(position)

    def check_position(self, position: dict[str, Any]) -> dict[str, Any]:
        """``position`` when it can be where this read resumes (its keys, its partition, its
        sort-key range).

        Raises:
            InvalidCursor: It cannot.
        """
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
        progress = ReadProgress(self, position, cap)
        requests = Requests(self.send, ahead=read_ahead)
        try:
            requests.submit(progress.first)
            while True:
                response = requests.answer()
                items, unknown, after, following = progress.take(response)
                if following is not None:
                    requests.submit(following)
                yield items, unknown, after, response
                if following is None:
                    return
        finally:
            requests.close()

    def page_for(
        self,
        items: list[T],
        unknown: list[UnknownItem],
        after: Mapping[str, Any] | None,
        response: Mapping[str, Any],
    ) -> Page[T]:
        """The page of one response (its cursor resumes right after its last item)."""
        return Page(
            tuple(items),
            int(response.get("ScannedCount", 0)),
            capacity_units(response),
            position=after,
            signer=self.sign,
            unknown=tuple(unknown),
        )

    def count_request(self, position: Mapping[str, Any] | None) -> dict[str, Any]:
        """The ``Select=COUNT`` request that counts on from ``position``."""
        request = self.request_for(position, None)
        request.pop("ProjectionExpression", None)
        request["Select"] = "COUNT"
        _drop_unused_names(request)
        return request

    def stream(
        self, position: Mapping[str, Any] | None, cap: int | None, *, read_ahead: bool = False
    ) -> Iterator[Page[T]]:
        """Send requests from ``position``; yield one page per response, at most ``cap``
        items in all. Each page's cursor resumes right after its last item. With
        ``read_ahead`` the next request is sent before the current page is decoded."""
        responses = self.responses(position, cap, read_ahead=read_ahead)
        try:
            for items, unknown, after, response in responses:
                yield self.page_for(items, unknown, after, response)
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
            response = self.send(self.count_request(position), stop)
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
