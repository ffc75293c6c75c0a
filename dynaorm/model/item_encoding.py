"""An instance to its whole stored item in one pass: attributes, entity type, primary and
index keys, and the item checks (well-formed values, at most 400 KB).

The attribute encoding measures each value as it goes (:func:`pynamodb_compat.encode_measured
<dynaorm.model.pynamodb_compat.encode_measured>`), and the key texts are measured as they are
added, so the common item is proved valid without a second walk over it. Anything the fast
measure is unsure of (a value that needs the full checks, non-ASCII names or keys, dynamic
attributes, an item kept in its stored form, an attribute written twice, a size near the
limit) is checked whole by :func:`~dynaorm.model.validation.validate_item`, as before, so the
errors are the same. Before all of this, the class's compiled encoder
(:mod:`dynaorm.model.compiled_items`) tries the common item in one straight pass.
:meth:`Entity.to_item <dynaorm.model.entity.EntityBase.to_item>` is the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import ValidationError
from dynaorm.base.limits import ITEM_SIZE_LIMIT
from dynaorm.model import pynamodb_compat
from dynaorm.model.compiled_items import item_encoder
from dynaorm.model.dynamic import encode_dynamic
from dynaorm.model.stored_form import stored_item
from dynaorm.model.validation import validate_item

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = ["whole_item"]


def _attributes(instance: EntityBase, measured: bool) -> tuple[dict[str, Any], int | None]:
    """The encoded attributes (``_container_serialize(null_check=True)``) and, ``measured``,
    their size when plainly valid."""
    if not measured:
        return instance._container_serialize(null_check=True), None
    item, size = pynamodb_compat.encode_measured(instance)
    count = len(item)
    encode_dynamic(instance, item)
    return item, (size if len(item) == count else None)


def whole_item(instance: EntityBase, *, measured: bool = True) -> dict[str, Any]:
    """What :meth:`~dynaorm.model.entity.EntityBase.to_item` returns, once it has checked the
    instance is complete (``measured``: the class encodes through dynaorm's own
    ``_container_serialize``; ``False`` calls the class's own and checks the item whole).

    Raises:
        ValidationError: See ``to_item``.
    """
    if measured:
        # The class's compiled encoder, for the common item (None: not plainly valid).
        encoder = item_encoder(type(instance))
        done = None if encoder is None else encoder(instance)
        if done is not None:
            whole, whole_size = done
            stored = stored_item(instance, whole)
            if whole_size > ITEM_SIZE_LIMIT or stored is not whole:
                validate_item(type(instance), stored)
            return stored
    try:
        item, size = _attributes(instance, measured)
    except ValidationError:
        raise
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{type(instance).__qualname__}: {exc}") from None
    table = instance.__table__
    if table.store_type:
        size = _put_text(item, table.type_attribute, instance.__type_name__, size)
    # attribute_values holds what the descriptors return, by Python name.
    values = instance.attribute_values
    for key in instance.__keys__.values():
        if key.index is None:
            for attribute, text in key.build(values).items():
                size = _put_text(item, attribute, text, size)
            continue
        for attribute, maybe in key.index_writes(values).items():
            if maybe is not None:
                size = _put_text(item, attribute, maybe, size)
    stored = stored_item(instance, item)
    if size is None or size > ITEM_SIZE_LIMIT or stored is not item:
        validate_item(type(instance), stored)
    return stored


def _put_text(item: dict[str, Any], name: str, text: str, size: int | None) -> int | None:
    """Set ``item[name]`` to the text ``text``; the item's size with it (``None``: unsure)."""
    if size is not None:
        if name in item or not name.isascii() or not text.isascii():
            size = None
        else:
            size += len(name) + len(text)
    item[name] = {"S": text}
    return size
