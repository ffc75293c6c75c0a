"""Reading one item by its key (GetItem): ``Entity.get`` and ``instance.refresh``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from dynaorm.base.errors import UnknownEntityType
from dynaorm.model.bound_keys import ItemKey
from dynaorm.model.decode import decode_whole, reload

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["get_item_request", "item_of", "read_item", "refresh_entity", "reload_from"]

E = TypeVar("E", bound="Entity")


def get_item_request(key: ItemKey, *, consistent: bool) -> dict[str, Any]:
    """The GetItem request that reads ``key``'s item (pure: no I/O)."""
    table = key.entity.__table__
    return {"TableName": table.name, "Key": key.to_request(), "ConsistentRead": consistent}


def _fetch(key: ItemKey, consistent: bool) -> dict[str, Any] | None:
    table = key.entity.__table__
    request = get_item_request(key, consistent=consistent)
    item: dict[str, Any] | None = table.call("GetItem", request, idempotent=True).get("Item")
    return item


def read_item(cls: type[E], key: ItemKey, *, consistent: bool) -> E | None:
    """The item at ``key`` as a ``cls`` instance; ``None`` when there is no such item.

    Raises:
        UnknownEntityType: The stored item is of another type, or not stored under the key
            its attributes build.
    """
    return item_of(cls, _fetch(key, consistent))


def item_of(cls: type[E], item: dict[str, Any] | None) -> E | None:
    """A GetItem's ``Item`` as a ``cls`` instance (``None``: no item); see :func:`read_item`."""
    return decode_whole(cls, item) if item else None  # type: ignore[return-value]


def refresh_entity(instance: Entity, *, consistent: bool) -> None:
    """Reload ``instance`` whole from the table.

    Raises:
        UnknownEntityType: The item no longer exists, or is not of the instance's type.
    """
    key = instance.item_key
    reload_from(instance, key, _fetch(key, consistent))


def reload_from(instance: Entity, key: ItemKey, item: dict[str, Any] | None) -> None:
    """Reload ``instance`` from the GetItem ``Item`` of its key; see :func:`refresh_entity`."""
    if not item:
        raise UnknownEntityType(
            f"{type(instance).__qualname__} {dict(key.key)} no longer exists",
            type_name=None,
            item={},
        )
    reload(instance, item)  # checks the stored type; whole now, so writable again
