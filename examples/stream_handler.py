"""An AWS Lambda handler for a table's DynamoDB stream, written with dynaorm.

Deploy it with the stream of the ``orders`` table as the function's event source (any view
type works; ``NEW_AND_OLD_IMAGES`` gives the most). ``shop.changes(event)`` turns each record
into a :class:`dynaorm.Change`: the event name, the item's key, and the old and new images as
entities (or :class:`dynaorm.UnknownItem` for a type this code does not know).

The tests run this handler on recorded event shapes (``tests/read/streams/*.json``) and on the
records the embedded server's stream returns.
"""

from __future__ import annotations

import logging
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from dynaorm import Entity, ItemKey, Key, Table, UnknownItem

log = logging.getLogger(__name__)

# Time to Live is enabled on "expires" where the table is deployed (Table(..., ttl_attribute=)
# would enable it when the table is created).
shop = Table("orders")


class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute(default="PLACED")
    total = NumberAttribute()
    receipt = BinaryAttribute(null=True, legacy_encoding=False)
    expires = TTLAttribute(null=True)
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Summarise what happened to orders in one batch of stream records.

    Returns:
        ``placed`` (order ids), ``status_changes`` (``[order_id, old, new]``), ``deleted``
        and ``expired`` (keys of removed orders; ``expired`` for Time to Live removals),
        ``customers`` (ids of customers whose profile changed) and ``unknown`` (records of
        item types this handler does not know).
    """
    summary: dict[str, Any] = {
        "placed": [],
        "status_changes": [],
        "deleted": [],
        "expired": [],
        "customers": [],
        "unknown": 0,
    }
    for change in shop.changes(event):
        if isinstance(change.new, UnknownItem) or isinstance(change.old, UnknownItem):
            summary["unknown"] += 1
            continue
        if change.entity is Customer and isinstance(change.keys, ItemKey):
            summary["customers"].append(change.keys.key["PK"].removeprefix("CUSTOMER#"))
            continue
        if change.entity is not Order:
            summary["unknown"] += 1
            continue
        if change.event == "INSERT" and isinstance(change.new, Order):
            summary["placed"].append(change.new.order_id)
        elif change.event == "MODIFY" and isinstance(change.new, Order):
            before = change.old.status if isinstance(change.old, Order) else None
            if before != change.new.status:
                summary["status_changes"].append([change.new.order_id, before, change.new.status])
        elif change.event == "REMOVE":
            key = change.keys.key if isinstance(change.keys, ItemKey) else change.keys
            summary["expired" if change.is_ttl_expiry else "deleted"].append(dict(key))
        log.info("%s %s at %s", change.event, change.keys, change.approximate_time)
    return summary
