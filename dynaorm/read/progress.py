"""Where a paged read stands between responses, without I/O: what the next request asks
for and what a response yields. The sync reader (:meth:`Plan.responses
<dynaorm.read.plan.Plan.responses>`) and the async one (:mod:`dynaorm.read.async_reads`)
drive the same progress, each sending the requests its own way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dynaorm.model.unknown_items import UnknownItem

if TYPE_CHECKING:
    from dynaorm.read.plan import Plan

__all__ = ["ReadProgress"]

T = TypeVar("T")


class ReadProgress(Generic[T]):
    """A read of ``plan`` from ``position``, at most ``cap`` results in all.

    Attributes:
        first: The first request to send.
    """

    def __init__(self, plan: Plan[T], position: Mapping[str, Any] | None, cap: int | None):
        self._plan = plan
        self._cap = cap
        self._remaining = cap
        self._evaluated = 0
        self._matched = 0
        self._asked = _next_ask(cap, 0, 0, cap)
        self.first = plan.request_for(position, self._asked)

    def take(
        self, response: Mapping[str, Any]
    ) -> tuple[list[T], list[UnknownItem], Mapping[str, Any] | None, dict[str, Any] | None]:
        """Decode ``response``: its results (within the cap), its unknown items, the position
        right after the last item used (``None``: nothing follows), and the next request to
        send (``None``: the read is done)."""
        plan = self._plan
        raw: list[dict[str, Any]] = response.get("Items", [])
        after: Mapping[str, Any] | None = response.get("LastEvaluatedKey")
        self._evaluated += int(response.get("ScannedCount", len(raw)))
        self._matched += len(raw)
        items, unknown, used = plan.decode_page(raw, self._remaining)
        if 0 < used < len(raw):
            after = plan.position_of(raw[used - 1])
        if self._remaining is not None:
            self._remaining -= len(items)
        following = None
        if after is not None and (self._remaining is None or self._remaining > 0):
            self._asked = _next_ask(self._remaining, self._evaluated, self._matched, self._asked)
            following = plan.request_for(after, self._asked)
        return items, unknown, after, following


def _next_ask(remaining: int | None, evaluated: int, matched: int, asked: int | None) -> int | None:
    """How many items to let DynamoDB evaluate next to find ``remaining`` matches."""
    if remaining is None or asked is None or evaluated == 0:
        return remaining
    if matched == 0:
        return max(asked * 2, remaining)
    return max(remaining, -(-remaining * evaluated // matched))
