"""Index definitions: global and local secondary indexes and their projections."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import attrs

from dynaorm.base.errors import ConfigurationError

__all__ = ["Index", "ProjectionType"]

ProjectionType = Literal["ALL", "KEYS_ONLY", "INCLUDE"]


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class Index:
    """A secondary index of a :class:`~dynaorm.Table`.

    A global index has its own partition-key attribute; a local one (``local=True``) shares the
    table's partition key and has only its own sort-key attribute.

    Args:
        name: The index name, e.g. ``"GSI1"``.
        pk: Partition-key attribute of a global index.
        sk: Sort-key attribute (required for a local index).
        projection: ``"ALL"`` (default), ``"KEYS_ONLY"`` or ``"INCLUDE"``.
        include: Non-key attributes projected when ``projection="INCLUDE"``; the table
            adds its type attribute to them (entity reads filter on it).
        local: True for a local secondary index.
        read_capacity: Provisioned read capacity (provisioned tables only).
        write_capacity: Provisioned write capacity (provisioned tables only).

    Example:
        >>> Index("GSI1", pk="GSI1PK", sk="GSI1SK")
        Index(name='GSI1', pk='GSI1PK', sk='GSI1SK', projection='ALL', include=(), local=False, read_capacity=None, write_capacity=None)
    """  # noqa: E501

    name: str
    pk: str | None = None
    sk: str | None = None
    projection: ProjectionType = "ALL"
    include: tuple[str, ...] = attrs.field(default=(), converter=_names)
    local: bool = False
    read_capacity: int | None = None
    write_capacity: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("an index needs a name")
        if self.local:
            if self.pk is not None:
                raise ConfigurationError(
                    f"local index {self.name!r} shares the table's partition key; give it only sk="
                )
            if self.sk is None:
                raise ConfigurationError(f"local index {self.name!r} needs a sort key (sk=)")
        elif self.pk is None:
            raise ConfigurationError(f"global index {self.name!r} needs a partition key (pk=)")
        if self.projection not in ("ALL", "KEYS_ONLY", "INCLUDE"):
            raise ConfigurationError(
                f"index {self.name!r}: projection must be ALL, KEYS_ONLY or INCLUDE, "
                f"not {self.projection!r}"
            )
        if (self.projection == "INCLUDE") != bool(self.include):
            raise ConfigurationError(
                f"index {self.name!r}: include= goes with projection='INCLUDE' (and only with it)"
            )

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """The index's own key attributes (a local index has only its sort key)."""
        return tuple(name for name in (self.pk, self.sk) if name is not None)

    def projecting(self, attribute: str) -> Index:
        """This index with ``attribute`` added to an ``INCLUDE`` projection (others unchanged).

        Example:
            >>> Index("G", pk="P", projection="INCLUDE", include=["a"]).projecting("_type").include
            ('a', '_type')
        """
        if self.projection != "INCLUDE" or attribute in self.include:
            return self
        return attrs.evolve(self, include=(*self.include, attribute))

    def projection_spec(self) -> dict[str, Any]:
        """The ``Projection`` member of a CreateTable/UpdateTable request."""
        spec: dict[str, Any] = {"ProjectionType": self.projection}
        if self.include:
            spec["NonKeyAttributes"] = list(self.include)
        return spec
