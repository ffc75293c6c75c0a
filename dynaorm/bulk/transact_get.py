"""``table.transact_get()``: up to 100 items read as of one moment (``TransactGetItems``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

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


__all__ = ["TransactGet", "transact_get"]


@attrs.frozen
class TransactGet:
    """One ``TransactGetItems`` read, built and decoded without I/O (the sync and the async
    ``transact_get`` send :attr:`request` their own way).

    Attributes:
        table: The table read.
        request: The request to send (``None``: no keys, nothing to send).
        requested: The keys asked for, in order (repeats included).
        order: The distinct keys, in the order of ``TransactItems``.
    """

    table: Table
    request: dict[str, Any] | None
    requested: list[ItemKey]
    order: list[ItemKey]
    select: Sequence[Selectable] | None

    @classmethod
    def build(
        cls,
        table: Table,
        keys: Iterable[ItemKey | Entity],
        select: Sequence[Selectable] | None,
    ) -> TransactGet:
        """Check the keys and build the request.

        Raises:
            ValidationError: More than 100 distinct keys, or a key of another table.
        """
        requested = item_keys(table, keys, "transact_get")
        distinct: dict[PhysicalKey, ItemKey] = {}
        for key in requested:
            distinct.setdefault(key_tuple(key), key)
        if len(distinct) > TRANSACTION_ACTION_LIMIT:
            raise ValidationError(
                f"transact_get takes at most {TRANSACTION_ACTION_LIMIT} distinct keys, got "
                f"{len(distinct)}; use batch_get for more (it is not a snapshot)"
            )
        order = list(distinct.values())
        if not order:
            return cls(table, None, requested, order, select)
        members = projection(table, select, order)
        request = {
            "TransactItems": [
                {"Get": {"TableName": table.name, "Key": k.to_request(), **members}} for k in order
            ]
        }
        return cls(table, request, requested, order, select)

    def canceled(self, exc: TransactionCanceled) -> TransactionCanceled:
        """The error to raise for a cancelled read (reasons mapped to the keys)."""
        assert self.request is not None
        actions = [
            TransactionAction(index=i, kind="Get", key=k, target=k, request=item["Get"])
            for i, (k, item) in enumerate(
                zip(self.order, self.request["TransactItems"], strict=True)
            )
        ]
        return canceled(self.table, "TransactGetItems", actions, exc)

    def decode(self, response: dict[str, Any] | None) -> list[Entity | UnknownItem | None]:
        """The result for the ``response`` (``None``: nothing was sent)."""
        if response is None:
            return [None] * len(self.requested)
        found: dict[PhysicalKey, dict[str, Any]] = {}
        for key, entry in zip(self.order, response.get("Responses", []), strict=False):
            if entry.get("Item"):
                found[key_tuple(key)] = entry["Item"]
        decode = key_read_decoder(self.table, self.select, self.order)
        return [
            decode(found[key_tuple(key)], key.entity) if key_tuple(key) in found else None
            for key in self.requested
        ]


def transact_get(
    table: Table,
    keys: Iterable[ItemKey | Entity],
    *,
    select: Sequence[Selectable] | None = None,
) -> list[Entity | UnknownItem | None]:
    """Read up to 100 items as of one moment (``TransactGetItems``); see
    :meth:`dynaorm.Table.transact_get`."""
    read = TransactGet.build(table, keys, select)
    if read.request is None:
        return read.decode(None)
    try:
        response = table.call("TransactGetItems", read.request, idempotent=True)
    except TransactionCanceled as exc:
        raise read.canceled(exc) from root_cause(exc)
    return read.decode(response)
