"""A linear-time item constructor for the embedded server (moto), with the same size check.

moto checks its item size limit each time an attribute is added to a new item, by summing the
sizes of every attribute already there, so building an item costs time quadratic in its
attribute count; for the items of a typical single-table design (keys of three indexes, the
type attribute, a dozen attributes) that check is most of what a write costs the server. The
constructor installed here adds the attributes in the same order and refuses the item at the
same attribute with the same error, keeping a running total instead of re-summing. Later
changes to a stored item (update expressions) still go through moto's own check.

It is installed only when moto's item class still has the shape it was written for; otherwise
moto is left as it is.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["install"]

# Lines of moto's constructor this replacement reproduces; any other shape is left alone.
_EXPECTED = (
    "self.attrs = LimitedSizeDict()",
    "for key, value in attrs.items():",
    "self.attrs[key] = DynamoType(value)",
)
_installed = False


def _compatible(item_class: type) -> bool:
    try:
        source = inspect.getsource(item_class.__init__)  # type: ignore[misc]
    except (OSError, TypeError):
        return False
    return all(line in source for line in _EXPECTED)


def install() -> bool:
    """Install the constructor once; returns whether it is in place.

    Example:
        >>> install() in (True, False)
        True
    """
    global _installed
    if _installed:
        return True
    try:
        from moto.dynamodb.exceptions import ItemSizeTooLarge
        from moto.dynamodb.models import dynamo_type
        from moto.dynamodb.models.utilities import bytesize
    except ImportError:
        return False
    item_class = dynamo_type.Item
    limited, typed = dynamo_type.LimitedSizeDict, dynamo_type.DynamoType
    if not _compatible(item_class):
        return False
    limit = _size_limit(limited)
    if limit is None:
        return False

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = limited()
        total = 0
        for key, value in attrs.items():
            attribute = typed(value)
            total += bytesize(key) + attribute.size()
            if total > limit:
                raise ItemSizeTooLarge
            dict.__setitem__(built, key, attribute)
        self.attrs = built

    item_class.__init__ = __init__  # type: ignore[method-assign]
    _installed = True
    return True


def _size_limit(limited: Any) -> int | None:
    """The byte limit written in moto's size check (``> 405000`` in moto 5)."""
    try:
        source = inspect.getsource(limited.__setitem__)
    except (OSError, TypeError):
        return None
    marker = "new_item_size) >"
    if marker not in source:
        return None
    digits = source.split(marker, 1)[1].split(":", 1)[0].strip().replace("_", "")
    return int(digits) if digits.isdigit() else None
