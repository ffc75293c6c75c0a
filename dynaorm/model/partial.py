"""Partial entities: the ``attribute_values`` of an entity decoded from less than a whole item.

An entity read with ``select()``, or through an index that does not project every attribute,
is *partial*: its ``attribute_values`` is a :class:`PartialValues`, which raises
:class:`~dynaorm.AttributeNotLoaded` for an attribute the read did not load, instead of the
default or ``None`` a whole entity would show. Only the decoder
(:class:`dynaorm.model.decode.Decoder`) makes entities partial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dynaorm.base.errors import AttributeNotLoaded

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["PartialValues"]


class PartialValues(dict[str, Any]):
    """The ``attribute_values`` of a partial entity: attributes the read did not load raise
    :class:`~dynaorm.AttributeNotLoaded` when read, rather than showing a made-up value.

    Setting such an attribute makes it loaded (it then holds what was set). Attributes read
    only through nested paths (``select(Doc.meta["colour"])``) are *partly* loaded: they read
    as what was selected, but the instance stays partial (it cannot be written whole, or
    turned into a dict) even when they are set, since a new value is likely built from the
    part read; ``refresh()`` reads them whole.
    """

    __slots__ = ("_entity", "_key", "_partly", "_unloaded")

    def __init__(
        self,
        values: Mapping[str, Any],
        *,
        entity: type[Entity],
        unloaded: frozenset[str],
        key: Mapping[str, Any] | Callable[[], dict[str, Any]],
        partly: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(values)
        self._entity = entity
        self._unloaded = unloaded
        self._partly = partly
        # The item's key, for messages: worked out only when one is raised.
        self._key: Mapping[str, Any] | Callable[[], dict[str, Any]] = key

    def _item_key(self) -> dict[str, Any]:
        key = self._key
        return key() if callable(key) else dict(key)

    @property
    def unloaded(self) -> frozenset[str]:
        """The Python names of the attributes neither read nor set since."""
        return frozenset(n for n in self._unloaded if not dict.__contains__(self, n))

    @property
    def partly(self) -> frozenset[str]:
        """The Python names of the attributes read only through nested paths."""
        return self._partly

    def get(self, name: str, default: Any = None) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if name in self._unloaded:
            raise self.not_loaded(name)
        return default

    def __missing__(self, name: str) -> Any:
        if name in self._unloaded:
            raise self.not_loaded(name)
        raise KeyError(name)

    def not_loaded(self, name: str) -> AttributeNotLoaded:
        """The error for reading ``name``."""
        entity = self._entity.__qualname__
        key = self._item_key()
        return AttributeNotLoaded(
            f"{entity} {key}: attribute {name!r} was not loaded (the instance was read "
            f"with select() or through an index that does not project it). Select "
            f"{entity}.{name} too, or refresh() the instance to read it whole.",
            entity=self._entity,
            attribute=name,
            key=key,
        )

    def read_in_part(self, name: str) -> AttributeNotLoaded:
        """The error for using ``name``, read only through nested paths, as a whole value."""
        entity = self._entity.__qualname__
        key = self._item_key()
        return AttributeNotLoaded(
            f"{entity} {key}: attribute {name!r} was read only in part (select() of nested "
            f"paths such as {entity}.{name}[...]): it holds only the selected members, so it "
            f"cannot stand for the whole value. Select {entity}.{name} itself, or refresh() "
            "the instance to read it whole.",
            entity=self._entity,
            attribute=name,
            key=key,
        )

    def __reduce__(self) -> Any:
        return (
            _rebuild_partial,
            (dict(self), self._entity, self._unloaded, self._item_key(), self._partly),
        )


def _rebuild_partial(
    values: dict[str, Any],
    entity: type[Entity],
    unloaded: frozenset[str],
    key: dict[str, Any],
    partly: frozenset[str] = frozenset(),
) -> PartialValues:
    return PartialValues(values, entity=entity, unloaded=unloaded, key=key, partly=partly)
