"""Entities: PynamoDB attribute containers that live, many types together, in one table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pynamodb.attributes import Attribute, AttributeContainer, AttributeContainerMeta
from pynamodb.attributes import VersionAttribute as _PynamoVersion
from pynamodb.expressions.condition import Condition

from dynaorm._entity_keys import BoundKey, ItemKey, Key, bind_key
from dynaorm._errors import (
    ConditionFailed,
    ConfigurationError,
    UnknownEntityType,
    ValidationError,
    VersionConflict,
)
from dynaorm._expressions import ExpressionBuilder, attribute_missing, conjoin
from dynaorm._table import Table

__all__ = ["Entity", "EntityMeta", "VersionAttribute"]


class VersionAttribute(_PynamoVersion):
    """An integer version for optimistic locking.

    The first save writes 1 under ``attribute_not_exists``; each later write is conditioned on
    the version the instance holds and increments it. A lost race raises
    :class:`~dynaorm.VersionConflict`.
    """


def _declared_keys(namespace: Mapping[str, Any], bases: tuple[type, ...]) -> dict[str, Key]:
    keys: dict[str, Key] = {}
    for base in reversed(bases):
        keys.update(getattr(base, "__key_declarations__", {}))
    keys.update({name: value for name, value in namespace.items() if isinstance(value, Key)})
    return keys


class EntityMeta(AttributeContainerMeta):
    """Binds key templates and registers the entity with its table at class creation."""

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        table: Table | None = None,
        type_name: str | None = None,
    ) -> EntityMeta:
        cls: EntityMeta = super().__new__(mcs, name, bases, namespace)  # type: ignore[no-untyped-call]
        return cls

    def __init__(
        cls,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        table: Table | None = None,
        type_name: str | None = None,
    ) -> None:
        super().__init__(name, bases, namespace)  # type: ignore[no-untyped-call]
        keys = _declared_keys(namespace, bases)
        cls.__key_declarations__ = keys
        if table is None:
            if type_name is not None:
                raise ConfigurationError(f"{name}: type_name= needs table=")
            return
        entity: type[Entity] = cls  # type: ignore[assignment]
        entity._bind(table, type_name or name, keys)


class Entity(AttributeContainer, metaclass=EntityMeta):
    """Base class of entity types: ``class Order(Entity, table=shop)``.

    Declare PynamoDB attributes and :class:`~dynaorm.Key` templates; pass ``table=`` (and
    optionally ``type_name=``, the value stored in the table's entity-type attribute, default
    the class name). A class without ``table=`` is abstract and can hold shared attributes.

    Example:
        >>> shop = Table("doc-shop")
        >>> class Customer(Entity, table=shop):
        ...     customer_id = UnicodeAttribute()
        ...     primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
        >>> Customer.key(customer_id="c1").key
        {'PK': 'CUSTOMER#c1', 'SK': 'PROFILE'}
    """

    __table__: ClassVar[Table]
    __type_name__: ClassVar[str]
    __primary__: ClassVar[BoundKey]
    __keys__: ClassVar[dict[str, BoundKey]]
    __version_attribute__: ClassVar[str | None]
    __key_declarations__: ClassVar[dict[str, Key]]

    def __init__(self, _user_instantiated: bool = True, **values: Any) -> None:
        try:
            super().__init__(_user_instantiated, **values)
        except ValueError as exc:
            known = ", ".join(sorted(self.get_attributes()))
            raise ValidationError(
                f"{type(self).__qualname__}: {exc} (attributes: {known})"
            ) from None

    # -- definition ------------------------------------------------------------------------

    @classmethod
    def _bind(cls, table: Table, type_name: str, keys: Mapping[str, Key]) -> None:
        attributes: dict[str, Attribute[Any]] = cls.get_attributes()
        for python_name, attribute in attributes.items():
            if attribute.attr_name in table.reserved_attributes:
                raise ConfigurationError(
                    f"{cls.__qualname__}.{python_name}: attribute name {attribute.attr_name!r} "
                    f"is reserved by table {table.name!r} for keys or the entity type"
                )
        versions = [n for n, a in attributes.items() if isinstance(a, _PynamoVersion)]
        if len(versions) > 1:
            raise ConfigurationError(
                f"{cls.__qualname__} has several version attributes: {versions}"
            )
        primaries = [name for name, key in keys.items() if key.index is None]
        if len(primaries) != 1:
            raise ConfigurationError(
                f"{cls.__qualname__} needs exactly one primary Key (without index=), "
                f"found {primaries or 'none'}"
            )
        primary = bind_key(
            keys[primaries[0]],
            name=primaries[0],
            entity=cls,
            table=table,
            attributes=attributes,
            primary=None,
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
                key, name=name, entity=cls, table=table, attributes=attributes, primary=primary
            )
        cls.__table__ = table
        cls.__type_name__ = type_name
        cls.__primary__ = primary
        cls.__keys__ = bound
        cls.__version_attribute__ = versions[0] if versions else None
        for name, key_obj in bound.items():
            setattr(cls, name, key_obj)
        table.register(cls)

    @classmethod
    def _check_concrete(cls) -> None:
        if "__table__" not in cls.__dict__:
            raise ConfigurationError(
                f"{cls.__qualname__} is abstract: declare it with table= to read or write it"
            )

    # -- keys ------------------------------------------------------------------------------

    @classmethod
    def key(cls, **values: Any) -> ItemKey:
        """The primary key of the item with these key attribute values.

        Raises:
            ValidationError: A value is missing, unexpected or unusable in a key.

        Example:
            >>> Order.key(customer_id="c1", order_id="o1")  # doctest: +SKIP
            ItemKey(entity=Order, key={'PK': 'CUSTOMER#c1', 'SK': 'ORDER#o1'})
        """
        cls._check_concrete()
        expected = set(cls.__primary__.fields)
        unexpected = sorted(set(values) - expected)
        if unexpected:
            raise ValidationError(
                f"{cls.__qualname__}.key() got unexpected {', '.join(unexpected)}; "
                f"the primary key takes {', '.join(cls.__primary__.fields) or 'nothing'}"
            )
        return ItemKey(cls, cls.__primary__.build(values))

    @property
    def item_key(self) -> ItemKey:
        """This instance's primary key."""
        primary = self.__primary__
        return ItemKey(type(self), primary.build(self._values_for(primary)))

    def _values_for(self, key: BoundKey) -> dict[str, Any]:
        return {name: getattr(self, name) for name in key.fields}

    # -- serialization ---------------------------------------------------------------------

    def to_item(self) -> dict[str, Any]:
        """The item as stored: attributes, entity type, primary and index keys.

        Index keys whose fields are not all set are left out (sparse indexes).

        Raises:
            ValidationError: A primary-key field is missing or unusable, or a required attribute
                is unset.
        """
        self._check_concrete()
        try:
            item = self._container_serialize(null_check=True)
        except ValueError as exc:
            raise ValidationError(f"{type(self).__qualname__}: {exc}") from None
        item[self.__table__.type_attribute] = {"S": self.__type_name__}
        for key in self.__keys__.values():
            values = self._values_for(key)
            if key.index is not None and not key.is_complete(values):
                continue
            for attribute, text in key.build(values).items():
                item[attribute] = {"S": text}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        """Build an instance from a raw item of this entity type.

        Raises:
            UnknownEntityType: The item's entity-type attribute names another type.
        """
        table = cls.__table__
        stored = item.get(table.type_attribute, {}).get("S")
        if stored != cls.__type_name__:
            raise UnknownEntityType(
                f"item {ItemKey(cls, _raw_key(table, item)).key} is a {stored!r}, "
                f"not a {cls.__type_name__!r}",
                type_name=stored,
                item=item,
            )
        instance = cls(_user_instantiated=False)
        instance._container_deserialize(dict(item))
        return instance

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Entity)
        return self._container_serialize(null_check=False) == other._container_serialize(
            null_check=False
        )

    __hash__ = None  # type: ignore[assignment]

    # -- reads and writes ------------------------------------------------------------------

    @classmethod
    def get(cls, *, consistent: bool = False, **values: Any) -> Self | None:
        """Read one item by its key attribute values; ``None`` when there is no such item.

        Example:
            >>> Customer.get(customer_id="c1")  # doctest: +SKIP
            Customer(customer_id='c1', email='a@x.io', version=1)
        """
        key = cls.key(**values)
        table = cls.__table__
        request = {"TableName": table.name, "Key": key.to_request(), "ConsistentRead": consistent}
        item = table.call("GetItem", request, idempotent=True).get("Item")
        return cls.from_item(item) if item else None

    def refresh(self, *, consistent: bool = True) -> None:
        """Reload this instance from the table.

        Raises:
            LookupError: The item no longer exists (a :class:`~dynaorm.UnknownEntityType`).
        """
        table = self.__table__
        key = self.item_key
        request = {"TableName": table.name, "Key": key.to_request(), "ConsistentRead": consistent}
        item = table.call("GetItem", request, idempotent=True).get("Item")
        if not item:
            raise UnknownEntityType(
                f"{type(self).__qualname__} {dict(key.key)} no longer exists",
                type_name=None,
                item={},
            )
        self.from_item(item)  # checks the stored type
        self._container_deserialize(dict(item))

    def _set_version(self, value: int | None) -> None:
        name = self.__version_attribute__
        if name is None:
            return
        if value is None:
            self.attribute_values.pop(name, None)
        else:
            setattr(self, name, value)

    def _version_condition(self) -> tuple[Condition | None, int | None]:
        """The optimistic-lock condition for this instance's current version."""
        name = self.__version_attribute__
        if name is None:
            return None, None
        current: int | None = getattr(self, name)
        if current is None:
            return attribute_missing(self.__table__.pk), None
        attribute: Attribute[Any] = self.get_attributes()[name]
        return attribute == current, current

    def save(self, *, condition: Condition | None = None) -> None:
        """Write the whole item (PutItem), replacing any stored one.

        A versioned entity writes the next version, conditioned on the one it holds.

        Raises:
            VersionConflict: Another writer got there first.
            ConditionFailed: ``condition`` was false.
            ValidationError: Keys or attributes are invalid; nothing was sent.
        """
        version_condition, expected = self._version_condition()
        self._set_version((expected or 0) + 1)
        try:
            item = self.to_item()
            builder = ExpressionBuilder()
            request: dict[str, Any] = {"TableName": self.__table__.name, "Item": item}
            combined = conjoin(version_condition, condition)
            if combined is not None:
                request["ConditionExpression"] = builder.condition(combined)
                request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
                request.update(builder.members())
            self._send_write("PutItem", request, expected, idempotent=combined is None)
        except BaseException:
            self._set_version(expected)
            raise

    def delete(self, *, condition: Condition | None = None) -> None:
        """Delete the item (DeleteItem). Deleting a missing item is not an error unless a
        condition or version says otherwise.

        Raises:
            VersionConflict: The stored version is not the one this instance holds.
            ConditionFailed: ``condition`` was false.
        """
        version_condition, expected = self._version_condition()
        builder = ExpressionBuilder()
        request: dict[str, Any] = {
            "TableName": self.__table__.name,
            "Key": self.item_key.to_request(),
        }
        combined = conjoin(version_condition, condition)
        if combined is not None:
            request["ConditionExpression"] = builder.condition(combined)
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            request.update(builder.members())
        self._send_write("DeleteItem", request, expected, idempotent=combined is None)

    def _send_write(
        self, operation: str, request: dict[str, Any], expected: int | None, *, idempotent: bool
    ) -> dict[str, Any]:
        try:
            return self.__table__.call(operation, request, idempotent=idempotent)
        except ConditionFailed as exc:
            raise self._condition_error(exc, expected) from exc

    def _condition_error(self, exc: ConditionFailed, expected: int | None) -> ConditionFailed:
        """Re-raise a failed condition with the stored item decoded, as a VersionConflict when
        the stored version differs from the one this instance holds."""
        raw = exc.item
        stored = type(self).from_item(raw) if raw else None
        name = self.__version_attribute__
        who = f"{type(self).__qualname__} {dict(self.item_key.key)}"
        if name is not None:
            stored_version = getattr(stored, name) if stored is not None else None
            if stored_version != expected:
                return VersionConflict(
                    f"{who}: expected version {expected}, stored version is {stored_version}; "
                    "re-read the item and retry",
                    expected=expected,
                    item=stored,
                    code=exc.code,
                    operation=exc.operation,
                )
        return ConditionFailed(
            f"{who}: the condition failed", item=stored, code=exc.code, operation=exc.operation
        )


def _raw_key(table: Table, item: Mapping[str, Any]) -> dict[str, str]:
    return {k: item[k].get("S", "") for k in (table.pk, table.sk) if k and k in item}
