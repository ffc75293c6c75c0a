"""One page of results, with the cursor that resumes right after its last item."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from dynaorm.model.unknown_items import UnknownItem

__all__ = ["Page", "Signer", "close"]

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


def close(iterator: Iterator[Any]) -> None:
    """Close ``iterator`` when it is a generator (its ``finally`` blocks run now, not when it
    is garbage collected)."""
    closer = getattr(iterator, "close", None)
    if closer is not None:
        closer()
