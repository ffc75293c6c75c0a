"""Pydantic v2 models for entities (the ``pydantic`` extra: ``pip install 'dynaorm[pydantic]'``).

:func:`model_for` builds a Pydantic model with one field per attribute of an entity, so an
entity can be validated from a request body and returned from a web endpoint (FastAPI takes
the model as a body type and a ``response_model``). Field types follow the attributes; an
attribute that is not nullable and has no default is a required field, others default to
their attribute's default or ``None``; keys that are not attributes are refused. A model's
JSON (``model_dump(mode="json")``, or what FastAPI sends) is exactly the entity's
:meth:`~dynaorm.Entity.to_dict`, and :func:`to_model` / :func:`from_model` convert both ways.

This module is imported only when used; dynaorm itself does not need Pydantic.

Example:
    >>> from dynaorm.pydantic import model_for, to_model, from_model  # doctest: +SKIP
    >>> CustomerModel = model_for(Customer)  # doctest: +SKIP
    >>> body = CustomerModel.model_validate({"customer_id": "c1"})  # doctest: +SKIP
    >>> from_model(Customer, body).save()  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    create_model,
)
from pynamodb.attributes import Attribute, DynamicMapAttribute, ListAttribute

from dynaorm.base.errors import ValidationError
from dynaorm.model.json_values import conversion_for, typed_map

if TYPE_CHECKING:
    from dynaorm.api.entity import Entity

__all__ = ["from_model", "model_for", "to_model"]

E = TypeVar("E", bound="Entity")

_lock = threading.RLock()
_MODEL = "__dynaorm_pydantic_model__"


_BASE64 = {"type": "string", "format": "base64"}
_BASE64_SCHEMAS: dict[Any, dict[str, Any]] = {
    bytes: _BASE64,
    set[bytes]: {"type": "array", "items": _BASE64, "uniqueItems": True},
}


def _annotation(attribute: Attribute[Any]) -> Any:
    """The field type of an attribute's values."""
    if typed_map(attribute):
        return _model_of(type(attribute))
    element_type = getattr(attribute, "element_type", None)
    if isinstance(attribute, ListAttribute) and element_type is not None:
        return list[_annotation(element_type()) | None]  # type: ignore[misc]
    conversion = conversion_for(attribute)
    python_type = Any if isinstance(attribute, DynamicMapAttribute) else conversion.python_type

    def load(value: Any) -> Any:
        # The JSON form (what to_dict gives) and the Python value are both taken.
        return conversion.load(attribute, value)

    def dump(value: Any) -> Any:
        return conversion.dump(attribute, value)

    serializer = PlainSerializer(dump, return_type=conversion.json_type, when_used="json")
    schema = _BASE64_SCHEMAS.get(python_type)
    if schema is not None:  # bytes travel as base64 text, not raw binary
        return Annotated[python_type, BeforeValidator(load), serializer, WithJsonSchema(schema)]
    return Annotated[python_type, BeforeValidator(load), serializer]


def _field(attribute: Attribute[Any]) -> tuple[Any, Any]:
    annotation = _annotation(attribute)
    default = attribute.default
    if not attribute.null and default is None:
        return annotation, ...
    if callable(default):
        return annotation | None, Field(default_factory=default)
    return annotation | None, default


def _build(container: type) -> type[BaseModel]:
    attributes: dict[str, Attribute[Any]] = container.get_attributes()  # type: ignore[attr-defined]
    fields = {name: _field(attribute) for name, attribute in attributes.items()}
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{container.__qualname__}Model",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Pydantic model of {container.__qualname__} (built by dynaorm).",
        __module__=container.__module__,
        **fields,
    )
    return model


def _model_of(container: type) -> type[BaseModel]:
    with _lock:
        model = container.__dict__.get(_MODEL)
        if model is None:
            model = _build(container)
            type.__setattr__(container, _MODEL, model)
        return model


def model_for(entity: type[Entity]) -> type[BaseModel]:
    """The Pydantic model of an entity class (built once, then reused).

    Args:
        entity: The entity class.

    Returns:
        A model class with a field per attribute (typed maps become nested models), named
        after the entity, that refuses unknown keys.

    Raises:
        ValidationError: An attribute's type has no JSON conversion.

    Example:
        >>> CustomerModel = model_for(Customer)  # doctest: +SKIP
        >>> CustomerModel(customer_id="c1", email="a@x.io").email  # doctest: +SKIP
        'a@x.io'
    """
    return _model_of(entity)


def to_model(entity: Entity) -> BaseModel:
    """The entity as an instance of its :func:`model_for` model.

    Raises:
        ValidationError: The entity does not satisfy its own model (e.g. a required
            attribute is unset).
    """
    model = model_for(type(entity))
    try:
        # Unset attributes are left out, so a required one reads as missing.
        data = {key: value for key, value in entity.to_dict().items() if value is not None}
        return model.model_validate(data)
    except ValueError as exc:
        raise ValidationError(f"{type(entity).__qualname__}: {exc}") from None


def from_model(entity: type[E], model: BaseModel) -> E:
    """The entity a model instance describes.

    Raises:
        ValidationError: The model holds values the entity refuses.
    """
    return entity.from_dict(model.model_dump(mode="json"))
