"""Write sharding: a key-template field whose value is computed from another field.

A partition that takes every write of a busy access pattern (all orders of a day under
``ORDERS#2024-05-01``) becomes a hot partition. Spreading it over ``N`` partitions
(``ORDERS#2024-05-01#0`` .. ``#9``) removes the hot spot, at the cost of reading ``N``
partitions to see them all (a scatter-gather query, :class:`dynaorm.ShardedQuery`).

A :class:`Shard` declared on an entity names the field it is computed from and the number of
shards; a key template uses it like any field (``"ORDERS#{day}#{shard}"``). Its value is
:func:`shard_of` of the source field's key text, so every client, in any language, computes
the same shard:

    shard = int.from_bytes(SHA-256(UTF-8 bytes of the source's key text)[:8], "big") % count

where the source's key text is what the field renders in a key template without a format spec
(text as it is, whole numbers in decimal, datetimes as dynaorm's fixed-width UTC text). It is
never Python's ``hash()``, which differs between processes.

This module is pure: no I/O, no entities.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, overload

import attrs

from dynaorm.base.errors import ConfigurationError, ValidationError

__all__ = ["MAX_SHARDS", "BoundShard", "Shard", "shard_of"]

MAX_SHARDS = 1000


def shard_of(text: str, count: int) -> int:
    """The shard (``0 .. count - 1``) of a source field's key text.

    The first 8 bytes of the SHA-256 digest of ``text`` in UTF-8, read as an unsigned
    big-endian integer, modulo ``count``: stable across processes, machines and languages.

    Raises:
        ValidationError: ``text`` is not a string or ``count`` is not a positive integer.

    Example:
        >>> shard_of("o-1001", 10), shard_of("o-1001", 10) == shard_of("o-1001", 10)
        (1, True)
    """
    if not isinstance(text, str):
        raise ValidationError(f"shard_of() takes the source's key text, got {text!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError(f"shard_of(): count must be a positive integer, got {count!r}")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


@attrs.frozen
class Shard:
    """Declares a shard field of an entity: ``shard = Shard("order_id", count=10)``.

    Use its name in an index (or primary) partition-key template, ``"ORDERS#{day}#{shard}"``:
    every write and every update of ``order_id`` writes the key with the shard computed from
    it, as other index keys are kept in step. On an instance it reads as the computed shard
    (``order.shard``), ``None`` while the source is unset. A query of one shard passes it
    (``Order.by_day.query(day=d, shard=3)``); ``Order.by_day.scatter(day=d)`` reads them all.

    Args:
        source: The attribute the shard is computed from (any attribute a key template takes).
        count: How many shards (1 .. 1000). Changing it moves items between shards: existing
            items keep the key they were written with until they are saved again.

    Raises:
        ConfigurationError: ``count`` is not an integer from 1 to 1000, or ``source`` is not a
            name (checked again, against the entity, when the class is defined).

    Example:
        >>> Shard("order_id", count=10).of("o-1001")
        1
    """

    source: str
    count: int = attrs.field(kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.isidentifier():
            raise ConfigurationError(
                f"Shard(): source must be an attribute name, got {self.source!r}"
            )
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise ConfigurationError(f"Shard({self.source!r}): count must be an integer")
        if not 1 <= self.count <= MAX_SHARDS:
            raise ConfigurationError(
                f"Shard({self.source!r}): count must be from 1 to {MAX_SHARDS}, got {self.count}"
            )

    def of(self, text: str) -> int:
        """The shard of the source's key text (see :func:`shard_of`)."""
        return shard_of(text, self.count)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Shard: ...
    @overload
    def __get__(self, instance: object, owner: type[Any]) -> int | None: ...
    def __get__(self, instance: object, owner: type[Any]) -> Shard | int | None:
        if instance is None:
            return self
        bound: dict[str, BoundShard] = getattr(owner, "__shard_fields__", {})
        for field in bound.values():
            if field.declaration is self:
                return field.value(getattr(instance, self.source))
        return None


@attrs.frozen
class BoundShard:
    """A :class:`Shard` bound to its entity: its field name and the source's codec.

    Attributes:
        name: The field name templates use (``"shard"``).
        source: The attribute the shard is computed from.
        count: How many shards.
        to_text: Renders the source value as its key text (the field's codec).
        declaration: The :class:`Shard` declared on the entity.
    """

    name: str
    source: str
    count: int
    to_text: Callable[[Any], str] = attrs.field(repr=False)
    declaration: object = attrs.field(repr=False, eq=False)

    def value(self, source_value: Any) -> int | None:
        """The shard of ``source_value`` (``None`` when it is unset).

        Raises:
            ValidationError: The value cannot be rendered as key text.
        """
        if source_value is None:
            return None
        try:
            text = self.to_text(source_value)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValidationError(
                f"shard {self.name!r} of {self.source}={source_value!r}: {exc}"
            ) from None
        return shard_of(text, self.count)
