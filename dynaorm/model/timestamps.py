"""Timestamps maintained by dynaorm: when an item was created and when it last changed.

``save()`` sets a :class:`CreatedAtAttribute` the first time the instance is written (when it
holds none) and an :class:`UpdatedAtAttribute` on every write. Updates set the updated
timestamp to the time of the request and the created one only if the stored item has none
(``if_not_exists``), so an update that creates an item (an upsert) records when.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs
from pynamodb.attributes import Attribute, UTCDateTimeAttribute

from dynaorm.base.class_cache import per_class

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = [
    "CreatedAtAttribute",
    "UpdateStamps",
    "UpdatedAtAttribute",
    "save_stamps",
    "timestamp_attributes",
    "update_stamps",
]


class CreatedAtAttribute(UTCDateTimeAttribute):
    """A UTC datetime set automatically when the item is first written.

    Nullable by default: it has no value until the first save.

    Example:
        >>> class Note(Entity, table=notes):  # doctest: +SKIP
        ...     note_id = UnicodeAttribute()
        ...     created = CreatedAtAttribute()
        ...     updated = UpdatedAtAttribute()
    """

    def __init__(self, *, attr_name: str | None = None, null: bool = True) -> None:
        super().__init__(attr_name=attr_name, null=null)


class UpdatedAtAttribute(UTCDateTimeAttribute):
    """A UTC datetime set automatically on every save and update.

    Nullable by default: it has no value until the first save.
    """

    def __init__(self, *, attr_name: str | None = None, null: bool = True) -> None:
        super().__init__(attr_name=attr_name, null=null)


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def timestamp_attributes(
    entity: type[Entity],
) -> tuple[dict[str, Attribute[Any]], dict[str, Attribute[Any]]]:
    """The entity's created and updated timestamp attributes, by Python name."""
    created: dict[str, Attribute[Any]] = {}
    updated: dict[str, Attribute[Any]] = {}
    for name, attribute in entity.get_attributes().items():
        if isinstance(attribute, CreatedAtAttribute):
            created[name] = attribute
        elif isinstance(attribute, UpdatedAtAttribute):
            updated[name] = attribute
    return created, updated


def save_stamps(instance: Entity, when: datetime) -> dict[str, datetime]:
    """The timestamps a full write of ``instance`` at ``when`` sets, by Python name; the
    instance itself is not changed.

    Created timestamps only when the instance holds none; updated ones always.

    Example:
        >>> save_stamps(Note(note_id="n1"), when)  # doctest: +SKIP
        {'created': when, 'updated': when}
    """
    created, updated = per_class(type(instance), "_dynaorm_save_stamps", _stamp_names)
    if not created and not updated:
        return {}
    stamps = {name: when for name in created if getattr(instance, name) is None}
    stamps.update((name, when) for name in updated)
    return stamps


@attrs.frozen
class UpdateStamps:
    """The timestamps an update sets: ``always`` to the time of the request, ``if_missing``
    only where the stored item holds none (``if_not_exists``). Both by Python name."""

    always: tuple[tuple[str, Attribute[Any]], ...] = ()
    if_missing: tuple[tuple[str, Attribute[Any]], ...] = ()


def update_stamps(
    entity: type[Entity], changed: Container[str], instance: Entity | None
) -> UpdateStamps:
    """The timestamps an update of ``entity`` sets, leaving alone those the caller sets.

    ``changed`` holds the stored names of the attributes the update's own actions set.
    Updated timestamps are always set; created ones only when the instance the update is
    made through holds none, or has not loaded it, or when there is no instance (an
    update by key may create the item).

    Example:
        >>> update_stamps(Note, {"body"}, None)  # doctest: +SKIP
        UpdateStamps(always=(('updated', ...),), if_missing=(('created', ...),))
    """
    created, updated = per_class(entity, "_dynaorm_stamp_attributes", timestamp_attributes)
    always = tuple((n, a) for n, a in updated.items() if a.attr_name not in changed)
    if_missing = tuple(
        (n, a)
        for n, a in created.items()
        if a.attr_name not in changed
        and (instance is None or n in instance.unloaded_attributes or getattr(instance, n) is None)
    )
    return UpdateStamps(always, if_missing)


def _stamp_names(entity: type[Entity]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    created, updated = timestamp_attributes(entity)
    return tuple(created), tuple(updated)
