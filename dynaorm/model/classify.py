"""Classification rules: which entity an item without dynaorm's type attribute is.

A table adopted from another tool (or written before dynaorm) tells its item types apart in
its own way: by a key prefix (``SK`` begins with ``ORDER#``), by a discriminator attribute of
its own (ElectroDB's ``__edb_e__``), or by something only a function can see. The rules here
are values for ``Table(classify=...)``: each is called with a raw item and returns the entity
(a class, or its type name) the item is, or ``None`` when it does not claim the item. The
decoder (:mod:`dynaorm.model.decode`) applies the table's rule on every read path.

Example:
    >>> rule = first_match(
    ...     by_prefix("SK", {"ORDER#": "order", "PROFILE": "customer"}),
    ...     by_attribute("kind", {"inv": "invoice"}),
    ... )
    >>> rule({"SK": {"S": "ORDER#o1"}})
    'order'
    >>> rule({"SK": {"S": "X"}, "kind": {"S": "inv"}})
    'invoice'
    >>> rule({"SK": {"S": "X"}}) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import ConfigurationError

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["ClassifyRule", "by_attribute", "by_prefix", "first_match"]

#: A rule: called with a raw item, returns an entity class, its type name, or ``None``.
ClassifyRule = Callable[[Mapping[str, Any]], Any]


def _text(item: Mapping[str, Any], attribute: str) -> str | None:
    value = item.get(attribute)
    if type(value) is dict and "S" in value:
        text = value["S"]
        return text if isinstance(text, str) else None
    return None


def _targets(what: str, mapping: Mapping[str, Any]) -> dict[str, Any]:
    if not mapping:
        raise ConfigurationError(f"{what}: the mapping is empty")
    for key, target in mapping.items():
        if not isinstance(key, str) or not key:
            raise ConfigurationError(f"{what}: keys must be non-empty text, got {key!r}")
        if not isinstance(target, str) and not hasattr(target, "__type_name__"):
            raise ConfigurationError(
                f"{what}: {key!r} maps to {target!r}; map to an entity class or its type name"
            )
    return dict(mapping)


@attrs.frozen
class _ByPrefix:
    attribute: str
    prefixes: tuple[tuple[str, Any], ...]

    def __call__(self, item: Mapping[str, Any]) -> Any:
        text = _text(item, self.attribute)
        if text is None:
            return None
        for prefix, target in self.prefixes:
            if text.startswith(prefix):
                return target
        return None


@attrs.frozen
class _ByAttribute:
    attribute: str
    values: Mapping[str, Any]

    def __call__(self, item: Mapping[str, Any]) -> Any:
        text = _text(item, self.attribute)
        return None if text is None else self.values.get(text)


@attrs.frozen
class _FirstMatch:
    rules: tuple[ClassifyRule, ...]

    def __call__(self, item: Mapping[str, Any]) -> Any:
        for rule in self.rules:
            found = rule(item)
            if found is not None:
                return found
        return None


def by_prefix(attribute: str, prefixes: Mapping[str, type[Entity] | str]) -> ClassifyRule:
    """A rule claiming items whose text ``attribute`` begins with one of ``prefixes``.

    The longest matching prefix wins, so ``{"ORDER#": ..., "ORDER#ITEM#": ...}`` tells order
    items from orders.

    Args:
        attribute: The stored attribute to look at (often the sort key).
        prefixes: Prefix -> entity class or type name.

    Raises:
        ConfigurationError: The mapping is empty or maps to something that is not an entity.

    Example:
        >>> by_prefix("SK", {"ORDER#": "order"})({"SK": {"S": "ORDER#1"}})
        'order'
    """
    found = _targets(f"by_prefix({attribute!r})", prefixes)
    ordered = sorted(found.items(), key=lambda pair: -len(pair[0]))
    return _ByPrefix(attribute, tuple(ordered))


def by_attribute(attribute: str, values: Mapping[str, type[Entity] | str]) -> ClassifyRule:
    """A rule claiming items by the text value of a discriminator ``attribute`` of their own
    (ElectroDB's ``__edb_e__``, a ``kind`` column).

    Args:
        attribute: The stored discriminator attribute.
        values: Stored value -> entity class or type name.

    Raises:
        ConfigurationError: The mapping is empty or maps to something that is not an entity.

    Example:
        >>> by_attribute("kind", {"emp": "employee"})({"kind": {"S": "emp"}})
        'employee'
    """
    return _ByAttribute(attribute, _targets(f"by_attribute({attribute!r})", values))


def first_match(*rules: ClassifyRule) -> ClassifyRule:
    """A rule asking each of ``rules`` in turn: the first that claims an item decides.

    Raises:
        ConfigurationError: No rule was given, or one is not callable.

    Example:
        >>> first_match(by_attribute("k", {"a": "x"}), lambda item: "y")({})
        'y'
    """
    if not rules:
        raise ConfigurationError("first_match() needs at least one rule")
    for rule in rules:
        if not callable(rule):
            raise ConfigurationError(f"first_match(): {rule!r} is not callable")
    return _FirstMatch(tuple(rules))
