"""Optimistic locking: the version attribute, the condition a write of an instance is sent
under, and setting the version an instance holds.

Every write of a versioned instance (``save``, ``delete``, ``update``, transactions) is
conditioned on the version the instance holds (on the item not existing, when it holds none)
and writes the next one; the instance takes the new version only once the write succeeded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import Attribute, VersionAttribute as _PynamoVersion
from pynamodb.expressions.condition import Condition

from dynaorm.expressions.compile import attribute_missing

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = ["VersionAttribute", "is_version", "next_version", "set_version", "version_condition"]


class VersionAttribute(_PynamoVersion):
    """An integer version for optimistic locking.

    The first save writes 1 under ``attribute_not_exists``; each later write is conditioned on
    the version the instance holds and increments it. A lost race raises
    :class:`~dynaorm.VersionConflict`.

    Example:
        >>> class Account(Entity, table=bank):  # doctest: +SKIP
        ...     account_id = UnicodeAttribute()
        ...     version = VersionAttribute()
    """


def is_version(attribute: Attribute[Any]) -> bool:
    """True for a version attribute (dynaorm's or PynamoDB's own)."""
    return isinstance(attribute, _PynamoVersion)


def version_condition(instance: EntityBase) -> tuple[Condition | None, int | None]:
    """The optimistic-lock condition for ``instance``'s current version, and that version
    (``(None, None)`` for an entity without a version attribute)."""
    name = instance.__version_attribute__
    if name is None:
        return None, None
    current: int | None = getattr(instance, name)
    if current is None:
        return attribute_missing(instance.__table__.pk), None
    attribute: Attribute[Any] = instance.get_attributes()[name]
    return attribute == current, current


def next_version(expected: int | None) -> int:
    """The version a write stores over ``expected`` (``None``: no item yet, so 1).

    Example:
        >>> next_version(None), next_version(3)
        (1, 4)
    """
    return (expected or 0) + 1


def set_version(instance: EntityBase, value: int | None) -> None:
    """Make ``instance`` hold version ``value`` (``None``: no version, as before a first save)."""
    name = instance.__version_attribute__
    if name is None:
        return
    if value is None:
        instance.attribute_values.pop(name, None)
    else:
        setattr(instance, name, value)
