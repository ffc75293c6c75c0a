"""Dynamic attributes: top-level attributes whose names an item chooses (``Warehouse1``,
``Warehouse2``, ...), declared once by their common prefix.

Some published single-table designs store one attribute per warehouse, region or day, as
top-level attributes rather than members of a map (so that each can be updated, conditioned
on and projected by its own name). :class:`DynamicAttributes` models them without declaring
each one:

- on an instance, the declared name (``product.quantities``) is a mutable mapping of *full
  attribute names* (``"Warehouse1"``) to values, checked as they are set;
- at class level, ``Product.quantities["Warehouse3"]`` is an attribute of the ``of`` type
  named ``Warehouse3``, for update actions (``.add(5)``, ``.set(7)``, ``.remove()``),
  conditions and filters;
- the item stores each entry as its own top-level attribute; a read takes every attribute
  whose name starts with the prefix into the mapping (they are not undeclared attributes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from pynamodb.attributes import Attribute

from dynaorm.base.class_cache import per_class
from dynaorm.base.errors import ConfigurationError, ValidationError
from dynaorm.base.limits import check_value, short_repr

if TYPE_CHECKING:
    from dynaorm.model.entity import EntityBase

__all__ = [
    "DynamicAttributes",
    "DynamicValues",
    "check_dynamic",
    "copy_dynamic",
    "decode_dynamic",
    "dynamic_fields",
    "encode_dynamic",
    "is_dynamic",
]

T = TypeVar("T")

#: The longest attribute name accepted (DynamoDB's limit for key and projected names).
NAME_LIMIT = 255


class DynamicValues(MutableMapping[str, T]):
    """The values of one :class:`DynamicAttributes` on an instance: full attribute name
    (``"Warehouse1"``) -> value. Every name and value is checked when it is set.

    Example:
        >>> from pynamodb.attributes import NumberAttribute
        >>> spec = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
        >>> values = DynamicValues(spec, "Product.quantities")
        >>> values["Warehouse1"] = 5
        >>> dict(values)
        {'Warehouse1': 5}
    """

    __slots__ = ("_data", "_spec", "_who")

    def __init__(self, spec: DynamicAttributes[T], who: str, data: Mapping[str, T] = {}) -> None:
        self._spec = spec
        self._who = who
        self._data: dict[str, T] = {}
        for name, value in data.items():
            self[name] = value

    def __getitem__(self, name: str) -> T:
        return self._data[name]

    def __setitem__(self, name: str, value: T) -> None:
        self._spec.check_name(name, self._who)
        self._spec.encode(value, f"{self._who}[{name!r}]")
        self._data[name] = value

    def __delitem__(self, name: str) -> None:
        del self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DynamicValues):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> DynamicValues[T]:
        """An independent copy."""
        return DynamicValues(self._spec, self._who, self._data)

    def __repr__(self) -> str:
        return repr(dict(self))


class DynamicAttributes(Generic[T]):
    """Top-level attributes named ``prefix`` + a suffix the item chooses, all of one type.

    Args:
        prefix: The common start of the attribute names (``"Warehouse"``). No declared
            attribute nor key attribute of the table may start with it.
        of: The PynamoDB attribute class of every value (``NumberAttribute``); values are
            checked with its ``serialize`` when set.

    Example:
        >>> from pynamodb.attributes import NumberAttribute, UnicodeAttribute
        >>> from dynaorm import DynamicAttributes, Entity, Key, Table
        >>> class Stock(Entity, table=Table("doc-stock")):
        ...     product_id = UnicodeAttribute()
        ...     quantities = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
        ...     primary = Key(pk="{product_id}", sk="PRODUCT")
        >>> stock = Stock(product_id="p1", quantities={"Warehouse1": 4})
        >>> stock.quantities["Warehouse2"] = 7
        >>> {k: v for k, v in stock.to_item().items() if k.startswith("Warehouse")}
        {'Warehouse1': {'N': '4'}, 'Warehouse2': {'N': '7'}}
        >>> Stock.quantities["Warehouse3"].attr_name
        'Warehouse3'
    """

    def __init__(self, *, prefix: str, of: type[Attribute[T]]) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError("DynamicAttributes(prefix=...) needs non-empty text")
        if not (isinstance(of, type) and issubclass(of, Attribute)):
            raise ConfigurationError(
                f"DynamicAttributes(of=...) needs a PynamoDB attribute class, got {of!r}"
            )
        self.prefix = prefix
        self.of = of
        self.codec: Attribute[T] = of()
        self.name = ""
        self.owner = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner.__qualname__

    def check_name(self, name: object, who: str) -> None:
        """Raise unless ``name`` is a usable attribute name of these dynamic attributes.

        Raises:
            ValidationError: Not text, not starting with the prefix, only the prefix, or
                longer than 255 bytes.
        """
        if not isinstance(name, str) or not name.startswith(self.prefix):
            raise ValidationError(
                f"{who}: {short_repr(name)} is not a name of these dynamic attributes; "
                f"use the full attribute name, starting with {self.prefix!r} "
                f"(e.g. {self.prefix + '1'!r})"
            )
        if name == self.prefix:
            raise ValidationError(f"{who}: {name!r} needs a suffix after {self.prefix!r}")
        if len(name.encode("utf-8")) > NAME_LIMIT:
            raise ValidationError(f"{who}: attribute names are limited to {NAME_LIMIT} bytes")

    def encode(self, value: Any, who: str) -> dict[str, Any]:
        """The typed value stored for ``value``.

        Raises:
            ValidationError: ``None``, or a value the ``of`` attribute cannot store.
        """
        if value is None:
            raise ValidationError(f"{who}: None is not a value; delete the entry instead")
        try:
            typed = {self.codec.attr_type: self.codec.serialize(value)}
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(
                f"{who}: {short_repr(value)} is not a {type(self.codec).__name__} value: {exc}"
            ) from None
        check_value(typed, what=who)
        return typed

    def decode(self, typed: Mapping[str, Any]) -> T:
        """The Python value of a stored typed value."""
        raw = self.codec.get_value(dict(typed))
        value: T = self.codec.deserialize(raw)
        return value

    @overload
    def __get__(self, instance: None, owner: type) -> DynamicAttributes[T]: ...
    @overload
    def __get__(self, instance: EntityBase, owner: type) -> DynamicValues[T]: ...
    def __get__(
        self, instance: EntityBase | None, owner: type
    ) -> DynamicAttributes[T] | DynamicValues[T]:
        if instance is None:
            return self
        return values_of(instance, self)

    def __set__(self, instance: EntityBase, value: Mapping[str, T]) -> None:
        if not isinstance(value, Mapping):
            raise ValidationError(
                f"{self.owner}.{self.name}: expected a mapping of attribute name -> value, "
                f"got {short_repr(value)}"
            )
        made = DynamicValues(self, f"{self.owner}.{self.name}", value)
        instance.attribute_values[self.name] = made

    def __getitem__(self, name: str) -> Attribute[T]:
        """The attribute named ``name`` (a full name), for updates and conditions.

        Raises:
            ValidationError: ``name`` is not one of these attributes' names.
        """
        self.check_name(name, f"{self.owner}.{self.name}")
        return self.of(attr_name=name)


def values_of(instance: EntityBase, spec: DynamicAttributes[Any]) -> DynamicValues[Any]:
    """The instance's values of ``spec`` (an empty mapping made on first use)."""
    stored = instance.attribute_values
    current = dict.get(stored, spec.name)
    if not isinstance(current, DynamicValues):
        current = DynamicValues(spec, f"{spec.owner}.{spec.name}")
        stored[spec.name] = current
    return current


def dynamic_fields(cls: type) -> tuple[DynamicAttributes[Any], ...]:
    """The dynamic attributes ``cls`` declares or inherits (worked out once per class)."""
    return per_class(cls, "_dynaorm_dynamic_fields", _collect)


def _collect(cls: type) -> tuple[DynamicAttributes[Any], ...]:
    found: dict[str, DynamicAttributes[Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, DynamicAttributes):
                found[name] = value
    return tuple(found.values())


def is_dynamic(cls: type, name: str) -> bool:
    """True when attribute ``name`` of an item belongs to dynamic attributes of ``cls``."""
    return any(name.startswith(f.prefix) and name != f.prefix for f in dynamic_fields(cls))


def check_dynamic(cls: type[EntityBase]) -> None:
    """Refuse, at class definition, dynamic prefixes that overlap each other, a declared
    attribute or an attribute the table maintains.

    Raises:
        ConfigurationError: Naming the clash.
    """
    fields = dynamic_fields(cls)
    if not fields:
        return
    table = cls.__table__
    taken = {a.attr_name for a in cls.get_attributes().values()} | set(table.reserved_attributes)
    for field in fields:
        who = f"{cls.__qualname__}.{field.name}"
        clash = sorted(n for n in taken if n.startswith(field.prefix))
        if clash:
            raise ConfigurationError(
                f"{who}: prefix {field.prefix!r} also starts {', '.join(clash)}; an item "
                "attribute must belong to one declaration: choose another prefix"
            )
        for other in fields:
            if other is not field and other.prefix.startswith(field.prefix):
                raise ConfigurationError(
                    f"{who}: prefix {field.prefix!r} also starts {other.prefix!r} "
                    f"({cls.__qualname__}.{other.name}); choose prefixes that do not overlap"
                )


def encode_dynamic(instance: EntityBase, item: dict[str, Any]) -> None:
    """Add the instance's dynamic attributes to ``item`` (typed values)."""
    stored = instance.attribute_values
    for field in dynamic_fields(type(instance)):
        values = dict.get(stored, field.name)
        if isinstance(values, DynamicValues):
            for name, value in values.items():
                item[name] = field.encode(value, f"{field.owner}.{field.name}[{name!r}]")


def decode_dynamic(instance: EntityBase, item: Mapping[str, Any]) -> None:
    """Set the instance's dynamic attributes from a raw item's attributes."""
    fields = dynamic_fields(type(instance))
    if not fields:
        return
    stored = instance.attribute_values
    for field in fields:
        values: DynamicValues[Any] = DynamicValues(field, f"{field.owner}.{field.name}")
        data = values._data  # already checked when written; decoded without re-checking
        for name, typed in item.items():
            if name.startswith(field.prefix) and name != field.prefix and "NULL" not in typed:
                data[name] = field.decode(typed)
        stored[field.name] = values


def copy_dynamic(instance: EntityBase) -> None:
    """Give ``instance`` (a shallow copy) dynamic mappings of its own."""
    stored = instance.attribute_values
    for field in dynamic_fields(type(instance)):
        values = dict.get(stored, field.name)
        if isinstance(values, DynamicValues):
            stored[field.name] = values.copy()
