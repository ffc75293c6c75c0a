"""Entities: PynamoDB attribute containers that live, many types together, in one table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pynamodb.attributes import (
    Attribute,
    AttributeContainer,
    AttributeContainerMeta,
    ListAttribute,
    MapAttribute,
)
from pynamodb.attributes import VersionAttribute as _PynamoVersion
from pynamodb.exceptions import AttributeNullError
from pynamodb.expressions.condition import Condition

from dynaorm.base.class_cache import per_class
from dynaorm.base.errors import (
    ConditionFailed,
    ConfigurationError,
    UnknownEntityType,
    ValidationError,
)
from dynaorm.base.limits import short_repr
from dynaorm.expressions.compile import attribute_missing
from dynaorm.model.bound_keys import BoundKey, ItemKey, Key, bind_key
from dynaorm.model.decode import PartialValues, decode_whole, reload
from dynaorm.model.table import Table
from dynaorm.model.values import ENCODING_ERRORS, guard_attribute, invalid_value, unguarded
from dynaorm.write.entity_writes import EntityWrites
from dynaorm.write.items import condition_error, delete_entity, save_entity, validate_item

if TYPE_CHECKING:
    from dynaorm.read.query import Query
    from dynaorm.read.scan import Scan

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


class Entity(EntityWrites, AttributeContainer, metaclass=EntityMeta):
    """Base class of entity types: ``class Order(Entity, table=shop)``.

    Declare PynamoDB attributes and :class:`~dynaorm.Key` templates; pass ``table=`` (and
    optionally ``type_name=``, the value stored in the table's entity-type attribute, default
    the class name). A class without ``table=`` is abstract and can hold shared attributes.

    Example:
        >>> from pynamodb.attributes import UnicodeAttribute
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
        except ValidationError:
            raise
        except TypeError as exc:  # a map value with non-text keys (PynamoDB takes them as **kw)
            raise ValidationError(_construction_error(type(self), values, exc)) from None
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
            guard_attribute(attribute, f"{cls.__qualname__}.{python_name}")
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
        self._check_concrete()
        self._assert_complete()
        try:
            item = self._container_serialize(null_check=True)
        except ValidationError:
            raise
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{type(self).__qualname__}: {exc}") from None
        item[self.__table__.type_attribute] = {"S": self.__type_name__}
        # attribute_values holds what the descriptors return, by Python name.
        values = self.attribute_values
        for key in self.__keys__.values():
            if key.index is not None and not key.is_complete(values):
                continue
            for attribute, text in key.build(values).items():
                item[attribute] = {"S": text}
        validate_item(type(self), item)
        return item

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
        if stored != cls.__type_name__:
            raise UnknownEntityType(
                f"item {ItemKey(cls, _raw_key(table, item)).key} is a {stored!r}, "
                f"not a {cls.__type_name__!r}",
                type_name=stored,
                item=item,
            )
        return decode_whole(cls, item)  # type: ignore[return-value]

    @classmethod
    def _from_raw(cls, item: Mapping[str, Any]) -> Self:
        """An instance holding a raw item's attributes, whatever its type attribute says
        (read paths decode through :class:`dynaorm.model.decode.Decoder`, which checks it)."""
        if cls.__init__ is Entity.__init__:
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
        from dynaorm.model.json_values import entity_to_dict

        return entity_to_dict(self)

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
        from dynaorm.model.json_values import entity_from_dict

        return entity_from_dict(cls, data, partial=partial)

    def _container_serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """The attributes in DynamoDB's typed form, as PynamoDB's own method gives them, minus
        its per-attribute lookups (every write encodes through here)."""
        return self._serialize(null_check)

    def _serialize(
        self, null_check: bool, skip: frozenset[str] = frozenset()
    ) -> dict[str, dict[str, Any]]:
        """:meth:`_container_serialize`, leaving out the attributes ``skip`` names."""
        steps = _encode_plan(type(self))
        if steps is None:
            return super()._container_serialize(null_check)
        out: dict[str, dict[str, Any]] = {}
        stored = self.attribute_values
        for name, physical, attribute, slot, container, nullable, serialize in steps:
            if name in skip:
                continue
            value = stored.get(slot) if slot is not None else getattr(self, name)
            try:
                if isinstance(value, MapAttribute) and not value.validate(null_check=null_check):
                    raise ValueError(f"Attribute '{name}' is not correctly typed")
                if value is None:
                    serialized = None
                elif container:
                    serialized = serialize(value, null_check=null_check)
                else:
                    serialized = serialize(value)
            except AttributeNullError as exc:
                exc.prepend_path(name)
                raise
            except ENCODING_ERRORS as exc:
                if (
                    value is None
                    or isinstance(exc, ValidationError)
                    or "correctly typed" in str(exc)
                ):
                    raise
                # What the attribute's guard raises, named by this entity (see _values).
                who = f"{type(self).__qualname__}.{name}"
                raise ValidationError(invalid_value(who, attribute, value, exc)) from None
            if serialized is None:
                if null_check and not nullable:
                    raise AttributeNullError(name)
                continue
            out[physical] = {attribute.attr_type: serialized}
        return out

    def _container_deserialize(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        """Set the attributes from a raw item, as PynamoDB's own method does, minus its
        per-attribute lookups (every read decodes through here)."""
        plan = _decode_plan(type(self))
        if plan is None:
            super()._container_deserialize(attribute_values)
            return
        defaults, steps = plan
        values: dict[str, Any] = {}
        self.attribute_values = values
        for name, default in defaults:
            value = default() if callable(default) else default
            if value is not None:
                setattr(self, name, value)
        for name, physical, attribute, slot, attr_type, identity in steps:
            raw = attribute_values.get(physical)
            if raw and "NULL" not in raw:
                # attribute.get_value(raw) inlined (it raises for a value of another type).
                value = raw[attr_type] if attr_type in raw else attribute.get_value(raw)
                if not identity:
                    value = attribute.deserialize(value)
                if slot is None:
                    setattr(self, name, value)
                else:
                    values[slot] = value

    def __eq__(self, other: object) -> bool:
        # A partial instance equals only an instance missing the same attributes and holding
        # the same values for the others: an attribute not read is never compared as a value.
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Entity)
        unloaded = self.unloaded_attributes
        if unloaded != other.unloaded_attributes or (
            self.partly_loaded_attributes != other.partly_loaded_attributes
        ):
            return False
        mine = _canonical(self._serialize(False, unloaded))
        return bool(mine == _canonical(other._serialize(False, unloaded)))

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
        return decode_whole(cls, item) if item else None  # type: ignore[return-value]

    def refresh(self, *, consistent: bool = True) -> None:
        """Reload this instance from the table, whole: a partial instance (read with
        ``select()``) holds every attribute afterwards and can be saved.

        Raises:
            LookupError: The item no longer exists, or is not of this type (a
                :class:`~dynaorm.UnknownEntityType`).
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
        reload(self, item)  # checks the stored type; whole now, so writable again

    def save(self, *, condition: Condition | None = None) -> None:
        """Write the whole item (PutItem), replacing any stored one.

        A versioned entity writes the next version, conditioned on the one it holds (on the
        item not existing, for the first save). Timestamps are set: created ones when the
        instance holds none, updated ones always. Nothing changes on the instance if the write
        fails.

        Args:
            condition: A condition the stored item must meet, e.g. ``Order.status == "NEW"``.

        Raises:
            VersionConflict: Another writer got there first (carries the stored item).
            ConditionFailed: ``condition`` was false (carries the stored item).
            ValidationError: Keys or attributes are invalid, a number cannot be stored, or the
                item is over 400 KB; nothing was sent.

        Example:
            >>> order.save(condition=Order.status == "NEW")  # doctest: +SKIP
        """
        self._assert_complete()
        save_entity(self, condition)

    def delete(self, *, condition: Condition | None = None) -> None:
        """Delete the item (DeleteItem). Deleting a missing item is not an error unless a
        condition or version says otherwise.

        Raises:
            VersionConflict: The stored version is not the one this instance holds.
            ConditionFailed: ``condition`` was false.
        """
        delete_entity(self, condition)

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

    def _condition_error(self, exc: ConditionFailed, expected: int | None) -> ConditionFailed:
        """The error for a failed condition on a write of this instance, with the stored item
        decoded: a VersionConflict when the stored version differs from ``expected``."""
        versioned = self.__version_attribute__ is not None
        return condition_error(
            type(self), self.item_key, exc, expected=expected, versioned=versioned
        )

    # -- queries and scans (facades over dynaorm.read.query / dynaorm.read.scan) -------------------

    @classmethod
    def query(cls, **partition_values: Any) -> Query[Self]:
        """Query this entity's items in one partition of its primary key.

        The sort key is restricted to the template's constant prefix (``ORDER#``) and the
        entity type is filtered, so only this entity's items come back. Query an index with
        ``Order.by_status.query(status="PAID")``.

        Args:
            **partition_values: The fields of the primary partition-key template.

        Returns:
            A :class:`~dynaorm.Query`; refine it with ``range()``, ``where()``, ``select()``,
            ``limit()``, ``page_size()``, ``reverse()``, ``consistent()``, ``after(cursor)``.

        Raises:
            ValidationError: A partition value is missing, unexpected or unusable.

        Example:
            >>> q = Order.query(customer_id="c1").where(Order.total > 100).limit(20)
            ... # doctest: +SKIP
            >>> page = q.page(); q.after(page.cursor).page()  # doctest: +SKIP
        """
        from dynaorm.read.query import Query

        return Query.create(cls, cls.__primary__, partition_values)

    @classmethod
    def scan(cls, *, index: str | None = None) -> Scan[Self]:
        """Scan the table (or ``index``) for this entity's items (filtered by entity type).

        Returns:
            A :class:`~dynaorm.Scan`; ``.segments(4)`` runs it in parallel,
            ``.rate_limit(units)`` paces it, ``.resume(checkpoint)`` continues one.

        Raises:
            ConfigurationError: The entity is abstract or the table has no such index.
            ValidationError: The index is ``KEYS_ONLY`` (it cannot hold the type attribute).

        Example:
            >>> for order in Order.scan().where(Order.total > 100).segments(4):  # doctest: +SKIP
            ...     print(order)
        """
        from dynaorm.read.scan import Scan

        return Scan.of_entity(cls, index=index)

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


# Per attribute: Python name, stored name, the attribute, the attribute_values key its
# descriptor stores under (None when the attribute's class has a __set__ of its own), its
# DynamoDB type (None when its class has a get_value of its own), and whether its deserialize
# returns the stored value as it is.
_DecodeStep = tuple[str, str, Attribute[Any], str | None, str | None, bool]
_DecodePlan = tuple[tuple[tuple[str, Any], ...], tuple[_DecodeStep, ...]]


# Per attribute: Python name, stored name, the attribute, the attribute_values key its
# descriptor reads (None when its class has a __get__ of its own), whether it serializes with
# null_check (lists and maps), whether it may be null, and its serialize without the guard of
# dynaorm.model.values (whose errors _container_serialize raises itself, without a call's cost).
_EncodeStep = tuple[str, str, Attribute[Any], str | None, bool, bool, Callable[..., Any]]


def _encode_plan(cls: type[Entity]) -> tuple[_EncodeStep, ...] | None:
    """How to encode instances of ``cls`` (worked out once per class); ``None`` when
    PynamoDB's own encoding must run (entities with a discriminator attribute)."""
    return per_class(cls, "_dynaorm_encode_plan", _build_encode_plan)


def _build_encode_plan(cls: type[Entity]) -> tuple[_EncodeStep, ...] | None:
    plan: tuple[_EncodeStep, ...] | None = None
    if not getattr(cls, "_discriminator", None):
        renamed: dict[str, str] = getattr(cls, "_dynamo_to_python_attrs", {})
        plan = tuple(
            (
                name,
                a.attr_name,
                a,
                renamed.get(a.attr_name, a.attr_name)
                if type(a).__get__ is Attribute.__get__
                else None,
                isinstance(a, ListAttribute | MapAttribute),
                bool(a.null),
                unguarded(a),
            )
            for name, a in cls.get_attributes().items()
        )
    return plan


def _decode_plan(cls: type[Entity]) -> _DecodePlan | None:
    """How to decode items of ``cls`` (worked out once per class); ``None`` when PynamoDB's
    own decoding must run (entities with a discriminator attribute)."""
    return per_class(cls, "_dynaorm_decode_plan", _build_decode_plan)


def _build_decode_plan(cls: type[Entity]) -> _DecodePlan | None:
    plan: _DecodePlan | None = None
    if not getattr(cls, "_discriminator", None):
        attributes = cls.get_attributes()
        # What _set_defaults(_user_instantiated=False) sets, in the same order.
        defaults = tuple(
            (name, a.default) for name, a in attributes.items() if a.default is not None
        )
        renamed: dict[str, str] = getattr(cls, "_dynamo_to_python_attrs", {})
        steps = tuple(
            (
                name,
                a.attr_name,
                a,
                renamed.get(a.attr_name, a.attr_name)
                if type(a).__set__ is Attribute.__set__
                else None,
                a.attr_type if type(a).get_value is Attribute.get_value else None,
                type(a).deserialize is Attribute.deserialize,
            )
            for name, a in attributes.items()
        )
        plan = (defaults, steps)
    return plan


def _canonical(value: Any) -> Any:
    """A serialized item with set members sorted: equal sets may iterate in different orders."""
    if isinstance(value, dict):
        return {
            k: sorted(v) if k in ("SS", "NS", "BS") else _canonical(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _construction_error(cls: type[Entity], values: Mapping[str, Any], exc: TypeError) -> str:
    """The message for a TypeError of the constructor: name the map with non-text keys."""
    for name, value in values.items():
        if isinstance(value, Mapping) and not all(isinstance(k, str) for k in value):
            key = next(k for k in value if not isinstance(k, str))
            return (
                f"{cls.__qualname__}.{name}: map key {short_repr(key)} is a "
                f"{type(key).__name__}; DynamoDB map keys are text: convert the keys to str"
            )
    return f"{cls.__qualname__}: {exc}"


def _raw_key(table: Table, item: Mapping[str, Any]) -> dict[str, str]:
    return {k: item[k].get("S", "") for k in (table.pk, table.sk) if k and k in item}
