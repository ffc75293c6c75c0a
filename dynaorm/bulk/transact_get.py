"""``table.transact_get()``: up to 100 items read as of one moment (``TransactGetItems``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import TransactionCanceled, ValidationError
from dynaorm.base.limits import TRANSACTION_ACTION_LIMIT
from dynaorm.bulk.batch_get import Selectable, item_keys, key_read_decoder, projection
from dynaorm.bulk.batching import PhysicalKey, key_tuple
from dynaorm.bulk.transaction_parts import TransactionAction, canceled
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.unknown_items import UnknownItem
from dynaorm.wire.translate import root_cause

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table


__all__ = ["transact_get"]


def transact_get(
    table: Table,
    keys: Iterable[ItemKey | Entity],
    *,
    select: Sequence[Selectable] | None = None,
) -> list[Entity | UnknownItem | None]:
    """Read up to 100 items as of one moment (``TransactGetItems``); see
    :meth:`dynaorm.Table.transact_get`."""
    requested = item_keys(table, keys, "transact_get")
    distinct: dict[PhysicalKey, ItemKey] = {}
    for key in requested:
        distinct.setdefault(key_tuple(key), key)
    if len(distinct) > TRANSACTION_ACTION_LIMIT:
        raise ValidationError(
            f"transact_get takes at most {TRANSACTION_ACTION_LIMIT} distinct keys, got "
            f"{len(distinct)}; use batch_get for more (it is not a snapshot)"
        )
    if not distinct:
        return [None] * len(requested)
    members = projection(table, select, distinct.values())
    order = list(distinct.values())
    request = {
        "TransactItems": [
            {"Get": {"TableName": table.name, "Key": k.to_request(), **members}} for k in order
        ]
    }
    try:
        response = table.call("TransactGetItems", request, idempotent=True)
    except TransactionCanceled as exc:
        actions = [
            TransactionAction(index=i, kind="Get", key=k, target=k, request=item["Get"])
            for i, (k, item) in enumerate(zip(order, request["TransactItems"], strict=True))
        ]
        raise canceled(table, "TransactGetItems", actions, exc) from root_cause(exc)
    found: dict[PhysicalKey, dict[str, Any]] = {}
    for key, entry in zip(order, response.get("Responses", []), strict=False):
        if entry.get("Item"):
            found[key_tuple(key)] = entry["Item"]
    decode = key_read_decoder(table, select, order)
    return [
        decode(found[key_tuple(key)], key.entity) if key_tuple(key) in found else None
        for key in requested
    ]
