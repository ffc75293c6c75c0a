"""The stored form of an item read: key fields restored from its keys, and what it holds
beyond the entity's attributes, so that saving it back changes only what was changed.

Items another tool wrote (or an older definition) may hold a key field only inside the key
(``PK = "CUSTOMER#c1"`` without a ``customer_id`` attribute), and attributes the entity does
not declare (ElectroDB's ``__edb_v__``). The decoder (:mod:`dynaorm.model.decode`) restores
such key fields on every read path (:func:`fill_from_keys`), so the instance is whole and
knows its keys. On a table with ``preserve_items=True`` it also remembers (:func:`remember`)
the undeclared attributes and which fields were only in the keys; ``to_item()`` then writes
the undeclared attributes back and leaves those fields out while they are unchanged
(:func:`stored_item`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import ValidationError
from dynaorm.model.dynamic import is_dynamic
from dynaorm.model.key_only import without_key_fields

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = ["SLOT", "StoredForm", "carry", "fill_from_keys", "remember", "stored_item"]

#: The instance attribute holding a :class:`StoredForm`.
SLOT = "_dynaorm_stored_form"


@attrs.frozen
class StoredForm:
    """What an instance read from a ``preserve_items`` table remembers of its item.

    Attributes:
        undeclared: The item's attributes the entity does not declare (typed values).
        key_only: Python name -> value of the fields the item held only inside its keys.
    """

    undeclared: Mapping[str, Any]
    key_only: Mapping[str, Any]


def fill_from_keys(instance: EntityBase, item: Mapping[str, Any]) -> dict[str, Any]:
    """Set the instance's unset key-template fields from the item's stored keys (primary and
    index keys) that parse as their templates build them.

    A key that does not parse restores nothing (the decoder then refuses an item whose
    primary key its attributes do not build).

    Returns:
        Python name -> value of each field restored.
    """
    stored = instance.attribute_values
    restored: dict[str, Any] = {}
    for key in type(instance).__keys__.values():
        missing = [name for name in key.fields if dict.get(stored, name) is None]
        if not missing:
            continue
        physical = [a for a in (key.pk_attribute, key.sk_attribute) if a is not None]
        if not all(type(item.get(a)) is dict and "S" in item[a] for a in physical):
            continue
        try:
            values = key.parse(item)
        except ValidationError:
            continue
        for name in missing:
            if name in values and dict.get(stored, name) is None:
                setattr(instance, name, values[name])
                restored[name] = dict.get(instance.attribute_values, name)
    return restored


def _declared(cls: type[EntityBase]) -> frozenset[str]:
    cached: frozenset[str] | None = cls.__dict__.get("_dynaorm_declared_names")
    if cached is None:
        cached = frozenset(a.attr_name for a in cls.get_attributes().values())
        type.__setattr__(cls, "_dynaorm_declared_names", cached)
    return cached


def remember(instance: EntityBase, item: Mapping[str, Any], restored: Mapping[str, Any]) -> None:
    """On a ``preserve_items`` table, keep the item's undeclared attributes and the fields
    ``restored`` from its keys on the instance (nothing otherwise)."""
    cls = type(instance)
    table = cls.__table__
    if not table.preserve_items:
        return
    skip = _declared(cls) | set(table.key_attributes)
    if table.store_type:
        skip |= {table.type_attribute}
    undeclared = {
        name: value
        for name, value in item.items()
        if name not in skip and not is_dynamic(cls, name)
    }
    if undeclared or restored:
        instance.__dict__[SLOT] = StoredForm(undeclared, dict(restored))
    else:
        instance.__dict__.pop(SLOT, None)


def carry(source: EntityBase, target: EntityBase) -> None:
    """Give ``target`` (a copy of ``source``, or ``source`` reloaded) ``source``'s form."""
    form = source.__dict__.get(SLOT)
    if form is None:
        target.__dict__.pop(SLOT, None)
    else:
        target.__dict__[SLOT] = form


def stored_item(instance: EntityBase, item: dict[str, Any]) -> dict[str, Any]:
    """``item`` (the instance encoded) in the stored form the instance was read in: its
    undeclared attributes added back (declared ones win), and the fields the stored item held
    only in its keys left out while they are unchanged; and, for an entity that does not
    store key fields, without them (:func:`~dynaorm.model.key_only.without_key_fields`)."""
    item = without_key_fields(instance, item)
    form: StoredForm | None = instance.__dict__.get(SLOT)
    if form is None:
        return item
    out = {**form.undeclared, **item}
    attributes = type(instance).get_attributes()
    values = instance.attribute_values
    for name, value in form.key_only.items():
        if dict.get(values, name) == value:
            out.pop(attributes[name].attr_name, None)
    return out
