"""Binding an entity class to its table when the class is created: keys, type name,
version attribute, registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs
from pynamodb.attributes import Attribute

from dynaorm.base.errors import ConfigurationError
from dynaorm.keys.shards import Shard
from dynaorm.model.bound_keys import BoundKey, Key
from dynaorm.model.key_binding import bind_key
from dynaorm.model.key_only import STORE_KEY_FIELDS, StoreKeyFields, store_option
from dynaorm.model.table import TableDefinition
from dynaorm.model.values import guard_attribute
from dynaorm.model.versions import is_version

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.model.entity import EntityBase


def public(cls: type[EntityBase]) -> type[Entity]:
    """``cls`` as the public entity class it is: every concrete entity class derives from
    :class:`dynaorm.Entity`, which this layer sees only in annotations."""
    return cast("type[Entity]", cls)


__all__ = ["StoreKeyFields", "bind_entity", "declared_keys", "public", "refuse_unbound"]


def declared_keys(namespace: Mapping[str, Any], bases: tuple[type, ...]) -> dict[str, Key]:
    """The :class:`~dynaorm.Key` declarations of a class body and its bases."""
    keys: dict[str, Key] = {}
    for base in reversed(bases):
        keys.update(getattr(base, "__key_declarations__", {}))
    keys.update({name: value for name, value in namespace.items() if isinstance(value, Key)})
    return keys


def declared_shards(cls: type) -> dict[str, Shard]:
    """The :class:`~dynaorm.Shard` fields declared on ``cls`` and its bases, by name."""
    shards: dict[str, Shard] = {}
    for klass in reversed(cls.__mro__):
        shards.update({n: v for n, v in vars(klass).items() if isinstance(v, Shard)})
    return shards


def refuse_unbound(name: str, **options: Any) -> None:
    """Refuse class keywords given to an abstract entity (one without ``table=``).

    Raises:
        ConfigurationError: One of ``options`` is set.
    """
    for option, value in options.items():
        if value is not None:
            raise ConfigurationError(f"{name}: {option}= needs table=")


def bind_entity(
    cls: type[EntityBase],
    table: TableDefinition,
    type_name: str,
    keys: Mapping[str, Key],
    store_key_fields: StoreKeyFields = None,
) -> None:
    """Bind entity class ``cls`` to ``table``: check its attributes, bind its keys, find its
    version attribute, and register it (``class X(Entity, table=...)`` does this).

    ``store_key_fields`` (the class keyword; ``None``: the table's) says whether items store
    key-template fields as attributes beside the keys, or names the fields they still store
    (see :mod:`dynaorm.model.key_only`).

    Raises:
        ConfigurationError: An attribute uses a reserved name, there is not exactly one
            primary key, two keys populate one index, or several version attributes.
    """

    attributes: dict[str, Attribute[Any]] = cls.get_attributes()
    for python_name, attribute in attributes.items():
        guard_attribute(attribute, f"{cls.__qualname__}.{python_name}")
        if attribute.attr_name in table.reserved_attributes:
            raise ConfigurationError(
                f"{cls.__qualname__}.{python_name}: attribute name {attribute.attr_name!r} "
                f"is reserved by table {table.name!r} for keys or the entity type"
            )
    versions = [n for n, a in attributes.items() if is_version(a)]
    if len(versions) > 1:
        raise ConfigurationError(f"{cls.__qualname__} has several version attributes: {versions}")
    primaries = [name for name, key in keys.items() if key.index is None]
    if len(primaries) != 1:
        raise ConfigurationError(
            f"{cls.__qualname__} needs exactly one primary Key (without index=), "
            f"found {primaries or 'none'}"
        )
    shards = declared_shards(cls)
    for shard_name in shards:
        if shard_name in attributes:
            raise ConfigurationError(
                f"{cls.__qualname__}.{shard_name} is both a shard and an attribute"
            )
    primary = bind_key(
        keys[primaries[0]],
        name=primaries[0],
        entity=public(cls),
        table=table,
        attributes=attributes,
        primary=None,
        shards=shards,
    )
    bound = {primaries[0]: primary}
    used_indexes: dict[str, str] = {}
    for name, key in keys.items():
        if key.index is None:
            continue
        if key.index in used_indexes:
            raise ConfigurationError(
                f"{cls.__qualname__}: keys {used_indexes[key.index]!r} and {name!r} both "
                f"populate index {key.index!r}"
            )
        used_indexes[key.index] = name
        bound[name] = bind_key(
            key,
            name=name,
            entity=public(cls),
            table=table,
            attributes=attributes,
            primary=primary,
            shards=shards,
        )
    bound = _with_shared_attributes(cls.__qualname__, table, bound)
    cls.__table__ = table  # type: ignore[assignment]  # every table is a public Table
    cls.__type_name__ = type_name
    cls.__primary__ = primary
    cls.__keys__ = bound
    cls.__version_attribute__ = versions[0] if versions else None
    type.__setattr__(cls, STORE_KEY_FIELDS, store_option(cls, store_key_fields))
    cls.__shard_fields__ = {  # type: ignore[attr-defined]  # read by Shard.__get__
        s.name: s for key_obj in bound.values() for s in key_obj.shards
    }
    for name, key_obj in bound.items():
        setattr(cls, name, key_obj)
    table.register(public(cls))


def _with_shared_attributes(
    owner: str, table: TableDefinition, bound: dict[str, BoundKey]
) -> dict[str, BoundKey]:
    """The bound keys with :attr:`BoundKey.owned` and :attr:`BoundKey.shared` filled in.

    Raises:
        ConfigurationError: Two keys write one physical attribute with different templates.
    """
    writers: dict[str, list[tuple[str, str]]] = {}
    for name, key in bound.items():
        parts = (
            [(key.pk_attribute, key.pk.source)]
            if key.pk_attribute in key.written_attributes
            else []
        )
        if key.sk is not None and key.sk_attribute is not None:
            parts.append((key.sk_attribute, key.sk.source))
        for attribute, source in parts:
            writers.setdefault(attribute, []).append((name, source))
    for attribute, found in writers.items():
        if len({source for _, source in found}) > 1:
            described = ", ".join(f"{name} builds {source!r}" for name, source in found)
            raise ConfigurationError(
                f"{owner}: keys write attribute {attribute!r} with different templates "
                f"({described}); an attribute several keys use needs one template"
            )
    primary = set(table.primary_attributes)
    out: dict[str, BoundKey] = {}
    for name, key in bound.items():
        if key.index is None:
            out[name] = key
            continue
        mine = set(key.written_attributes)
        owned = frozenset(mine & primary)
        shared = frozenset(a for a in mine - owned if len(writers.get(a, ())) > 1)
        out[name] = attrs.evolve(key, owned=owned, shared=shared) if owned or shared else key
    return out
