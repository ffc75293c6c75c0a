"""The access patterns entities declare in ``__access_patterns__``, compiled to the requests
they send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from dynaorm.base.errors import ConfigurationError
from dynaorm.expressions.compile import render

if TYPE_CHECKING:
    from dynaorm.api.table import Table

__all__ = ["AccessPattern", "access_patterns"]


@attrs.frozen
class AccessPattern:
    """An access pattern an entity declares, with the request it compiles to."""

    entity: str
    name: str
    description: str
    request: dict[str, Any]

    def expressions(self) -> dict[str, str]:
        """The request's expressions with names and values filled back in."""
        members = ("KeyConditionExpression", "FilterExpression", "ProjectionExpression")
        return {m: render(self.request[m], self.request) for m in members if m in self.request}


def access_patterns(table: Table) -> list[AccessPattern]:
    """The access patterns of ``table``'s entities: each entity's ``__access_patterns__``, a
    mapping of a name to a function without arguments returning a query (its docstring, if
    any, describes it), compiled.

    Raises:
        ConfigurationError: A declaration is not such a mapping, or its function fails or
            returns something without ``.compile()``.
    """
    patterns = []
    for _, entity in sorted(table.entities.items()):
        declared = entity.__dict__.get("__access_patterns__")
        if declared is None:
            continue
        if not isinstance(declared, Mapping):
            raise ConfigurationError(
                f"{entity.__qualname__}.__access_patterns__ maps a name to a function returning "
                f"a query, not {type(declared).__name__}"
            )
        for name, factory in declared.items():
            where = f"{entity.__qualname__}.__access_patterns__[{name!r}]"
            if not callable(factory):
                raise ConfigurationError(f"{where} is not a function")
            try:
                query = factory()
                request: dict[str, Any] = query.compile()
            except ConfigurationError:
                raise
            except Exception as exc:
                raise ConfigurationError(f"{where} failed: {type(exc).__name__}: {exc}") from None
            doc = (factory.__doc__ or "").strip() if not _is_lambda(factory) else ""
            patterns.append(AccessPattern(entity.__qualname__, str(name), doc, request))
    return patterns


def _is_lambda(function: Any) -> bool:
    return getattr(function, "__name__", "") == "<lambda>"
