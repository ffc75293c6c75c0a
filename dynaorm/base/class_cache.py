"""Values worked out once per entity class and kept on the class itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["per_class"]

T = TypeVar("T")
_MISSING: Any = object()


def per_class(cls: type, name: str, build: Callable[[Any], T]) -> T:
    """``build(cls)``, computed on first use and kept in ``cls``'s own namespace under ``name``.

    Subclasses never see their parent's value (each class's ``__dict__`` is its own), so a
    subclass that adds attributes gets a value of its own.

    Example:
        >>> class Shape: ...
        >>> per_class(Shape, "_sides", lambda cls: 4)
        4
        >>> per_class(Shape, "_sides", lambda cls: 5)  # kept from the first call
        4
    """
    value: T = cls.__dict__.get(name, _MISSING)
    if value is _MISSING:
        value = build(cls)
        type.__setattr__(cls, name, value)
    return value
