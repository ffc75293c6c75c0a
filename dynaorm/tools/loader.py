"""Load ``MODULE:NAME`` references for the command line."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from dynaorm.api.table import Table
from dynaorm.base.errors import ConfigurationError

__all__ = ["load_object", "load_table"]


def load_object(reference: str) -> Any:
    """Import ``package.module:attribute.path`` and return the object.

    The current directory is importable, as it is for ``python -m``.

    Raises:
        ConfigurationError: The reference is malformed or does not resolve.
    """
    module_name, sep, attribute_path = reference.partition(":")
    if not sep or not module_name or not attribute_path:
        raise ConfigurationError(
            f"expected MODULE:NAME (e.g. myapp.models:shop), got {reference!r}"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import module {module_name!r}: {exc}") from exc
    for part in attribute_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"{reference!r}: {part!r} not found") from None
    return obj


def load_table(reference: str) -> Table:
    """:func:`load_object` for a reference that must name a :class:`~dynaorm.Table`.

    Raises:
        ConfigurationError: The reference does not resolve, or names something else.

    Example:
        >>> load_table("dynaorm:Table")
        Traceback (most recent call last):
        dynaorm.base.errors.ConfigurationError: 'dynaorm:Table' is a type, not a dynaorm Table
    """
    table = load_object(reference)
    if not isinstance(table, Table):
        raise ConfigurationError(f"{reference!r} is a {type(table).__name__}, not a dynaorm Table")
    return table
