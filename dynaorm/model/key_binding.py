"""Compiling a declared :class:`~dynaorm.Key` into a :class:`~dynaorm.BoundKey` when an
entity class is defined: templates with their field codecs, physical attributes, shard fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from pynamodb.attributes import (
    Attribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from dynaorm.base.errors import ConfigurationError
from dynaorm.base.limits import PARTITION_KEY_LIMIT, SORT_KEY_LIMIT
from dynaorm.keys.codecs import DateTimeCodec, FieldCodec, NumberCodec, TextCodec
from dynaorm.keys.parts import CasingOption, Field, FromTable, Template, parse_source
from dynaorm.keys.shards import BoundShard, Shard
from dynaorm.keys.templates import KeyTemplate
from dynaorm.model.bound_keys import BoundKey, Key
from dynaorm.model.values import DecimalAttribute

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.model.table import TableDefinition

__all__ = ["bind_key"]


def _codec_resolver(entity_name: str, attributes: Mapping[str, Attribute[Any]]) -> Any:
    def resolve(name: str, spec: str) -> FieldCodec:
        attribute = attributes[name]
        if isinstance(attribute, UTCDateTimeAttribute):
            return DateTimeCodec(spec)
        if isinstance(attribute, NumberAttribute):
            return NumberCodec(spec)
        if isinstance(attribute, DecimalAttribute):
            return NumberCodec(spec, exact=True)
        if isinstance(attribute, UnicodeAttribute):
            if spec:
                raise ValueError("text fields take no format spec")
            return TextCodec()
        raise ValueError(
            f"{entity_name}.{name} is a {type(attribute).__name__}; key templates take "
            "UnicodeAttribute, NumberAttribute, DecimalAttribute or UTCDateTimeAttribute fields"
        )

    return resolve


def _own_casing(casing: CasingOption, spec: Template) -> CasingOption:
    """A Key's per-field casing, narrowed to the fields of one of its templates (``bind_key``
    refuses names in neither)."""
    if not isinstance(casing, Mapping):
        return casing
    names = {p.name for p in parse_source(spec.source) if isinstance(p, Field)}
    return {name: case for name, case in casing.items() if name in names}


def bind_key(
    key: Key,
    *,
    name: str,
    entity: type[Entity],
    table: TableDefinition,
    attributes: Mapping[str, Attribute[Any]],
    primary: BoundKey | None,
    shards: Mapping[str, Shard] | None = None,
) -> BoundKey:
    """Compile ``key`` for ``entity`` (the primary key must be bound first).

    Raises:
        ConfigurationError: The key does not fit the table or names unknown attributes.
    """
    owner = f"{entity.__qualname__}.{name}"
    if isinstance(key.casing, Mapping):
        sources = [t if isinstance(t, Template) else Template(t) for t in (key.pk, key.sk) if t]
        cased = {n for t in sources for n in _own_casing(key.casing, t)}
        if set(key.casing) - cased:
            raise ConfigurationError(
                f"{owner}: casing names {', '.join(sorted(set(key.casing) - cased))}, which "
                "are not fields of its templates"
            )
    shards = shards or {}
    attribute_codec = _codec_resolver(entity.__qualname__, attributes)

    def resolve(field: str, spec: str) -> FieldCodec:
        if field in shards:
            return NumberCodec(spec)
        codec: FieldCodec = attribute_codec(field, spec)
        return codec

    bound = _bind_templates(key, name, entity, table, resolve, primary)
    if bound.sk is not None and any(f in shards for f in bound.sk.fields):
        raise ConfigurationError(
            f"{owner}: a shard field belongs in the partition-key template, not in sort key "
            f"{bound.sk.source!r}"
        )
    used = [f for f in bound.pk.fields if f in shards]
    if len(used) > 1:
        raise ConfigurationError(f"{owner}: partition key {bound.pk.source!r} has several shards")
    if not used:
        return bound
    shard = shards[used[0]]
    if shard.source not in attributes:
        raise ConfigurationError(
            f"{entity.__qualname__}.{used[0]} = Shard({shard.source!r}, ...): "
            f"{shard.source!r} is not an attribute of {entity.__qualname__}"
        )
    try:
        source_codec = attribute_codec(shard.source, "")
    except ValueError as exc:
        raise ConfigurationError(f"{entity.__qualname__}.{used[0]}: {exc}") from None
    return attrs.evolve(
        bound, shards=(BoundShard(used[0], shard.source, shard.count, source_codec.to_text, shard),)
    )


def _bind_templates(
    key: Key,
    name: str,
    entity: type[Entity],
    table: TableDefinition,
    resolve: Any,
    primary: BoundKey | None,
) -> BoundKey:
    owner = f"{entity.__qualname__}.{name}"

    def template(source: str | Template, part: str) -> KeyTemplate:
        limit = SORT_KEY_LIMIT if part == "sk" else PARTITION_KEY_LIMIT
        spec = source if isinstance(source, Template) else Template(source)
        delimiter = spec.delimiter
        if isinstance(delimiter, FromTable):
            delimiter = key.delimiter
        if isinstance(delimiter, FromTable):
            delimiter = table.delimiter
        return KeyTemplate(
            spec.source,
            resolve,
            delimiter,
            f"{owner}.{part}",
            max_bytes=limit,
            casing=_own_casing(key.casing, spec) if spec.casing is None else spec.casing,
        )

    if key.index is None:
        if key.pk is None:
            raise ConfigurationError(f"{owner}: the primary key needs a pk template")
        if (key.sk is None) != (table.sk is None):
            need = "needs an sk template" if table.sk else "has no sort key; drop sk="
            raise ConfigurationError(f"{owner}: table {table.name!r} {need}")
        return BoundKey(
            entity,
            name,
            None,
            template(key.pk, "pk"),
            template(key.sk, "sk") if key.sk is not None else None,
            table.pk,
            table.sk,
            assume_disjoint=key.assume_disjoint,
        )
    try:
        index = table.index(key.index)
    except ConfigurationError as exc:
        templates = ", ".join(
            f"{p}={getattr(t, 'source', t)!r}" for p, t in (("pk", key.pk), ("sk", key.sk)) if t
        )
        raise ConfigurationError(
            f"{owner} (Key(index={key.index!r}, {templates})): {exc}"
        ) from None
    if index.local:
        if key.pk is not None:
            raise ConfigurationError(
                f"{owner}: local index {index.name!r} shares the primary partition key; drop pk="
            )
        if key.sk is None or primary is None:
            raise ConfigurationError(f"{owner}: local index {index.name!r} needs an sk template")
        return BoundKey(
            entity,
            name,
            index,
            primary.pk,
            template(key.sk, "sk"),
            table.pk,
            index.sk,
            primary.shards,
        )
    if key.pk is None:
        raise ConfigurationError(f"{owner}: global index {index.name!r} needs a pk template")
    if (key.sk is None) != (index.sk is None):
        need = "needs an sk template" if index.sk else "has no sort key; drop sk="
        raise ConfigurationError(f"{owner}: index {index.name!r} {need}")
    assert index.pk is not None
    return BoundKey(
        entity,
        name,
        index,
        template(key.pk, "pk"),
        template(key.sk, "sk") if key.sk is not None else None,
        index.pk,
        index.sk,
    )
