"""Checking a whole item before it is written: well-formed values and at most 400 KB.

The fast pass of :mod:`dynaorm.base.sizes` decides the common case in one walk; anything it is
unsure about goes to the full checks of :mod:`dynaorm.base.limits`, which raise the precise
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dynaorm.base.limits import ITEM_SIZE_LIMIT, check_value
from dynaorm.base.sizes import check_item, plain_item_size

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = ["validate_item"]


def validate_item(entity: type[EntityBase], item: Mapping[str, Mapping[str, Any]]) -> None:
    """Check a full item before it is sent: well-formed values and at most 400 KB.

    Raises:
        ValidationError: A number DynamoDB cannot store (NaN, infinity, > 38 digits, out of
            range), text that is not a string, or an item over 400 KB.
    """
    size = plain_item_size(item)
    if size is not None and size <= ITEM_SIZE_LIMIT:
        return  # the common case: every value plainly valid, and the item fits
    names = {a.attr_name: n for n, a in entity.get_attributes().items()}
    for name, value in item.items():
        check_value(value, what=f"{entity.__qualname__}.{names.get(name, name)}")
    table = entity.__table__
    key = {k: item[k].get("S") for k in (table.pk, table.sk) if k and k in item}
    check_item(item, what=f"{entity.__qualname__} {key}")
