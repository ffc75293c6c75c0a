"""Bulk export of a table's items as JSON lines (behind ``dynaorm export``).

An export is a **raw copy**: one line per item, exactly as stored, in DynamoDB's typed JSON
(:mod:`dynaorm.bulk.item_lines`), whatever the item's type or shape: items of unknown
types, items without a type attribute, attributes another client added, values no entity
would decode. Nothing is decoded, defaulted or re-encoded on the way, so export, delete,
create, import (:mod:`dynaorm.bulk.importing`) gives back the table as it was.

Example::

    with open("shop.jsonl", "w") as out:
        exported = export_items(shop, out, segments=4)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, cast

import attrs

from dynaorm.bulk.item_lines import encode_item
from dynaorm.read.plan import Plan
from dynaorm.read.scan_runner import ScanCheckpoint, run_segments

if TYPE_CHECKING:
    from dynaorm.api.table import Table


__all__ = ["export_items"]


def export_items(
    table: Table,
    out: IO[str],
    *,
    segments: int = 1,
    consistent: bool = False,
    wrap: bool = False,
    on_item: Callable[[int], None] | None = None,
) -> int:
    """Write every item of ``table`` to ``out`` exactly as stored, one typed-JSON line each.

    Nothing is decoded: items of every type (known, unknown or none) and every shape are
    copied raw, attributes and values as DynamoDB returns them.

    Args:
        table: The table to read.
        out: A text stream.
        segments: Parallel scan segments.
        consistent: Strongly consistent scan (twice the read capacity).
        wrap: Write each line as ``{"Item": {...}}``, like DynamoDB's own exports.
        on_item: Called with the running count after each item (for progress bars).

    Returns:
        The number of items written.

    Raises:
        ValidationError: ``segments`` is not a positive integer.
        ServiceError: The scan failed (``TableNotFound`` for a missing table).

    Example:
        >>> with open("shop.jsonl", "w") as out:  # doctest: +SKIP
        ...     export_items(shop, out, segments=4)
        1200
    """
    scan = table.scan().segments(segments).consistent(consistent)
    plans = [_raw_plan(cast("Plan[Any]", plan)) for plan in scan._plans_for(segments, None)]
    pages = run_segments(plans, ScanCheckpoint.start(segments), None, workers=segments)
    count = 0
    for page in pages:
        for item in page.items:
            out.write(encode_item(item, wrap=wrap))
            out.write("\n")
            count += 1
            if on_item is not None:
                on_item(count)
    return count


def _raw(item: dict[str, Any]) -> dict[str, Any]:
    return item


def _raw_plan(plan: Plan[Any]) -> Plan[dict[str, Any]]:
    """A scan plan that hands over each item as stored, undecoded."""
    raw: Plan[dict[str, Any]] = attrs.evolve(plan, decode=_raw)
    return raw
