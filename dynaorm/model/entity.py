"""The entity core: PynamoDB attribute containers that live, many types together, in one table.

:class:`EntityBase` holds what an entity *is*: its binding to a table (keys, type name,
version attribute), its keys, its codec between instances and items, equality, and partial
instances. What an entity *does* (``get``, ``save``, ``query``, ...) is the public
:class:`dynaorm.Entity` of :mod:`dynaorm.api.entity`, built on this class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from pynamodb.attributes import AttributeContainer, AttributeContainerMeta

from dynaorm.base.errors import ConfigurationError, UnknownEntityType, ValidationError
from dynaorm.base.limits import short_repr
from dynaorm.model import pynamodb_compat
from dynaorm.model.binding import StoreKeyFields, bind_entity, declared_keys, public, refuse_unbound
from dynaorm.model.bound_keys import BoundKey, ItemKey, Key
from dynaorm.model.decode import decode_whole
from dynaorm.model.dynamic import check_dynamic, decode_dynamic, dynamic_fields, encode_dynamic
from dynaorm.model.item_encoding import whole_item
from dynaorm.model.json_values import entity_from_dict, entity_to_dict
from dynaorm.model.partial import PartialValues
from dynaorm.model.table import TableDefinition
from dynaorm.model.unknown_items import stored_key

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
    from dynaorm.api.table import Table

__all__ = ["EntityBase", "EntityMeta", "check_concrete"]


class EntityMeta(AttributeContainerMeta):
    """Binds key templates and registers the entity with its table at class creation."""

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        table: TableDefinition | None = None,
        type_name: str | None = None,
        store_key_fields: StoreKeyFields = None,
    ) -> EntityMeta:
        cls: EntityMeta = super().__new__(mcs, name, bases, namespace)  # type: ignore[no-untyped-call]
        return cls

    def __init__(
        cls,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        table: TableDefinition | None = None,
        type_name: str | None = None,
        store_key_fields: StoreKeyFields = None,
    ) -> None:
        super().__init__(name, bases, namespace)  # type: ignore[no-untyped-call]
        keys = declared_keys(namespace, bases)
        cls.__key_declarations__ = keys
        if table is None:
            refuse_unbound(name, type_name=type_name, store_key_fields=store_key_fields)
            return
        entity: type[EntityBase] = cls  # type: ignore[assignment]
        bind_entity(entity, table, type_name or name, keys, store_key_fields)
        check_dynamic(entity)


def check_concrete(cls: type[EntityBase]) -> None:
    """Refuse to read or write through an abstract entity class (one without ``table=``).

    Raises:
        ConfigurationError: ``cls`` is abstract.
    """
    if "__table__" not in cls.__dict__:
        raise ConfigurationError(
            f"{cls.__qualname__} is abstract: declare it with table= to read or write it"
        )


class EntityBase(AttributeContainer, metaclass=EntityMeta):
    """The core of every entity class (see :class:`dynaorm.Entity`, which users subclass).

    Example:
        >>> from dynaorm import Entity
        >>> issubclass(Entity, EntityBase)
        True
    """

    __table__: ClassVar[Table]
    __type_name__: ClassVar[str]
    __primary__: ClassVar[BoundKey]
    __keys__: ClassVar[dict[str, BoundKey]]
    __version_attribute__: ClassVar[str | None]
    __key_declarations__: ClassVar[dict[str, Key]]

    def __init__(self, _user_instantiated: bool = True, **values: Any) -> None:
        dynamic = {
            f.name: values.pop(f.name) for f in dynamic_fields(type(self)) if f.name in values
        }
        try:
            super().__init__(_user_instantiated, **values)
        except ValidationError:
            raise
        except TypeError as exc:  # a map value with non-text keys (PynamoDB takes them as **kw)
            raise ValidationError(_construction_error(type(self), values, exc)) from None
        except ValueError as exc:
            known = ", ".join(sorted(self.get_attributes()))
            raise ValidationError(
                f"{type(self).__qualname__}: {exc} (attributes: {known})"
            ) from None
        for name, mapping in dynamic.items():
            setattr(self, name, mapping)

    # -- definition ------------------------------------------------------------------------

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
        check_concrete(cls)
        expected = set(cls.__primary__.fields)
        unexpected = sorted(set(values) - expected)
        if unexpected:
            raise ValidationError(
                f"{cls.__qualname__}.key() got unexpected {', '.join(unexpected)}; "
                f"the primary key takes {', '.join(cls.__primary__.fields) or 'nothing'}"
            )
        return ItemKey(public(cls), cls.__primary__.build(values))

    @property
    def item_key(self) -> ItemKey:
        """This instance's primary key."""
        primary = self.__primary__
        return ItemKey(public(type(self)), primary.build(self._values_for(primary)))

    def _values_for(self, key: BoundKey) -> dict[str, Any]:
        # attribute_values holds what the descriptors return, without their per-call cost.
        stored = self.attribute_values
        return {name: stored.get(name) for name in key.fields}

    # -- serialization ---------------------------------------------------------------------

    def to_item(self) -> dict[str, Any]:
        """The item as stored: attributes, entity type, primary and index keys.

        Index keys whose fields are not all set are left out (sparse indexes).

        Raises:
            ValidationError: The instance is partial (read with ``select()`` or through an
                index that does not project every attribute: the item would lack the others);
                a primary-key field is missing or unusable, a required attribute is unset, a
                value has the wrong type, a number cannot be stored (NaN, infinity, over 38
                digits, out of range), or the item is over 400 KB.
        """
        check_concrete(type(self))
        self._assert_complete()
        own = type(self)._container_serialize is EntityBase._container_serialize
        return whole_item(self, measured=own)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        """Build an instance from a raw item of this entity type.

        Raises:
            UnknownEntityType: The item's entity-type attribute names another type, or the
                item is not stored under the key its attributes build (``"E#1"`` where the
                template builds ``"E#0001"``): as an instance it would act on another item.
        """
        table = cls.__table__
        stored = item.get(table.type_attribute, {}).get("S")
        if stored is None and table.classify is not None:
            return decode_whole(public(cls), item)  # type: ignore[return-value]
        if stored != cls.__type_name__:
            raise UnknownEntityType(
                f"item {stored_key(table, item)} is a {stored!r}, not a {cls.__type_name__!r}",
                type_name=stored,
                item=item,
            )
        return decode_whole(public(cls), item)  # type: ignore[return-value]

    @classmethod
    def _from_raw(cls, item: Mapping[str, Any]) -> Self:
        """An instance holding a raw item's attributes, whatever its type attribute says
        (read paths decode through :class:`dynaorm.model.decode.Decoder`, which checks it)."""
        if cls.__init__ is EntityBase.__init__:
            # _container_deserialize sets every attribute (defaults included) afresh, so the
            # constructor's own pass over the attributes would only be repeated.
            instance = cls.__new__(cls)
        else:
            instance = cls(_user_instantiated=False)
        instance._container_deserialize(dict(item))
        return instance

    def to_dict(self) -> dict[str, Any]:
        """The entity as a JSON-safe dict (``json.dumps`` takes it as it is), keyed by
        attribute name; ``from_dict`` turns it back into an equal entity.

        Unset attributes are ``None``; datetimes are ISO 8601 text with an offset, binary
        values base64 text, sets sorted lists, decimals exact text (see docs/json.md for
        every attribute type). Keys and the entity type are not included: they follow from
        the attributes.

        Raises:
            AttributeNotLoaded: The instance is partial: an attribute was not loaded, or was
                read only in part (through nested paths), so the dict would pass the part
                read for the whole entity.

        Example:
            >>> Customer(customer_id="c1", email="a@x.io").to_dict()  # doctest: +SKIP
            {'customer_id': 'c1', 'email': 'a@x.io', 'version': None}
        """
        return entity_to_dict(cast("Entity", self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, partial: bool = False) -> Self:
        """Build an entity from a dict such as :meth:`to_dict` returns (or parsed JSON).

        Args:
            data: Attribute name -> JSON value (the Python value is accepted too).
            partial: Allow required attributes to be missing (a projection's result).

        Raises:
            ValidationError: A key is not an attribute of the entity, a value has the wrong
                type for its attribute (the message names the entity and the attribute), or
                a required attribute is missing.

        Example:
            >>> Customer.from_dict({"customer_id": "c1", "email": "a@x.io"})  # doctest: +SKIP
            Customer(customer_id='c1', email='a@x.io', version=None)
        """
        made: Self = entity_from_dict(public(cls), data, partial=partial)  # type: ignore[assignment]
        return made

    def _container_serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """The attributes in DynamoDB's typed form, as PynamoDB's own method gives them, minus
        its per-attribute lookups (every write encodes through here)."""
        return self._serialize(null_check)

    def _serialize(
        self, null_check: bool, skip: frozenset[str] = frozenset()
    ) -> dict[str, dict[str, Any]]:
        """:meth:`_container_serialize`, leaving out the attributes ``skip`` names."""
        out = pynamodb_compat.encode(self, null_check, skip)
        encode_dynamic(self, out)
        return out

    def _container_deserialize(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        """Set the attributes from a raw item, as PynamoDB's own method does, minus its
        per-attribute lookups (every read decodes through here)."""
        pynamodb_compat.decode_into(self, attribute_values)
        decode_dynamic(self, attribute_values)

    def __eq__(self, other: object) -> bool:
        # A partial instance equals only an instance missing the same attributes and holding
        # the same values for the others: an attribute not read is never compared as a value.
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, EntityBase)
        unloaded = self.unloaded_attributes
        if unloaded != other.unloaded_attributes or (
            self.partly_loaded_attributes != other.partly_loaded_attributes
        ):
            return False
        mine = pynamodb_compat.canonical(self._serialize(False, unloaded))
        return bool(mine == pynamodb_compat.canonical(other._serialize(False, unloaded)))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        text = super().__repr__()
        marks = []
        unloaded = self.unloaded_attributes
        if unloaded:
            marks.append(f"<not loaded: {', '.join(sorted(unloaded))}>")
        partly = self.partly_loaded_attributes
        if partly:
            marks.append(f"<read in part: {', '.join(sorted(partly))}>")
        if not marks:
            return text
        sep = "" if text.endswith("()") else ", "
        return f"{text[:-1]}{sep}{', '.join(marks)})"

    # -- partial instances -----------------------------------------------------------------

    @property
    def is_partial(self) -> bool:
        """True when the instance was read with ``select()`` (or through an index that does
        not project every attribute) and some attributes were not loaded, or were loaded only
        in part (selected through nested paths: :attr:`partly_loaded_attributes`). Reading an
        unloaded one raises :class:`~dynaorm.AttributeNotLoaded`; ``save()`` is refused;
        ``refresh()`` reads it whole.

        Example:
            >>> from pynamodb.attributes import UnicodeAttribute
            >>> from dynaorm import Entity, Key, Table
            >>> class Note(Entity, table=Table("doc-notes")):
            ...     note_id = UnicodeAttribute()
            ...     primary = Key(pk="NOTE#{note_id}", sk="NOTE")
            >>> Note(note_id="n1").is_partial
            False
        """
        return bool(self.unloaded_attributes or self.partly_loaded_attributes)

    @property
    def unloaded_attributes(self) -> frozenset[str]:
        """The Python names of the attributes the read did not load (and that were not set
        since); empty for a whole instance.

        Example:
            >>> Order.query(customer_id="c1").select(Order.total).first().unloaded_attributes
            ... # doctest: +SKIP
            frozenset({'status', 'meta'})
        """
        values = self.attribute_values
        return values.unloaded if isinstance(values, PartialValues) else frozenset()

    @property
    def partly_loaded_attributes(self) -> frozenset[str]:
        """The Python names of the attributes the read loaded only in part: selected only
        through nested paths (``select(Doc.meta["colour"])``), they hold just the selected
        members. They read as such, but make the instance partial: it cannot be written
        whole (``save()``, ``to_item()``) or turned into a dict, even after they are set,
        until ``refresh()``. Empty for a whole instance.

        Example:
            >>> Doc.query(doc_id="d1").select(Doc.meta["colour"]).first().partly_loaded_attributes
            ... # doctest: +SKIP
            frozenset({'meta'})
        """
        values = self.attribute_values
        return values.partly if isinstance(values, PartialValues) else frozenset()

    @property
    def _partial(self) -> bool:
        return self.is_partial

    def _assert_complete(self) -> None:
        """Refuse to write an instance read with a projection (it lacks attributes).

        Raises:
            ValidationError: The instance is partial.
        """
        unloaded = self.unloaded_attributes
        partly = self.partly_loaded_attributes
        if unloaded or partly:
            missing = [f"not loaded: {', '.join(sorted(unloaded))}"] if unloaded else []
            if partly:
                missing.append(f"read only in part: {', '.join(sorted(partly))}")
            raise ValidationError(
                f"{type(self).__qualname__} {dict(self.item_key.key)} was read with select() "
                "(or through an index that does not project every attribute) and holds only "
                f"some attributes or members ({'; '.join(missing)}); writing it would "
                "erase the others. refresh() it (or read it with get()) before saving it."
            )


def _construction_error(cls: type[EntityBase], values: Mapping[str, Any], exc: TypeError) -> str:
    """The message for a TypeError of the constructor: name the map with non-text keys."""
    for name, value in values.items():
        if isinstance(value, Mapping) and not all(isinstance(k, str) for k in value):
            key = next(k for k in value if not isinstance(k, str))
            return (
                f"{cls.__qualname__}.{name}: map key {short_repr(key)} is a "
                f"{type(key).__name__}; DynamoDB map keys are text: convert the keys to str"
            )
    return f"{cls.__qualname__}: {exc}"
