"""Entities shared by the write, update, limits and expression tests."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from dynaorm import CreatedAtAttribute, Entity, Index, ItemKey, Key, Table, UpdatedAtAttribute

STORED_ITEM_ON_FAILURE = pytest.mark.requires("return_values_on_condition_failure")

lab = Table("test-writes-lab", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Dims(MapAttribute[str, Any]):
    width = NumberAttribute(null=True)
    unit = UnicodeAttribute(attr_name="u", null=True)


class Thing(Entity, table=lab):
    """Attribute names that are DynamoDB reserved words, or contain ``.`` and ``[``."""

    thing_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    count = NumberAttribute(null=True)
    sub = UnicodeAttribute(null=True)
    dotted = UnicodeAttribute(attr_name="a.b", null=True)
    bracketed = UnicodeAttribute(attr_name="x[y", null=True)
    note = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    scores = NumberSetAttribute(null=True)
    lines = ListAttribute(null=True)  # type: ignore[var-annotated]
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    dims = Dims(null=True)
    primary = Key(pk="THING#{thing_id}", sk="THING")


class Note(Entity, table=lab):
    note_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute(attr_name="updated_at")
    primary = Key(pk="NOTE#{note_id}", sk="NOTE")
    recent = Key(index="GSI1", pk="NOTES", sk="{updated}")


def raw_item(table: Table, key: ItemKey, **extra: Any) -> dict[str, Any]:
    request = {"TableName": table.name, "Key": key.to_request(), "ConsistentRead": True, **extra}
    item: dict[str, Any] = table.call("GetItem", request, idempotent=True).get("Item", {})
    return item


def sample() -> Thing:
    return Thing(
        thing_id="t1",
        name="Ada",
        status="PAID",
        size=3,
        count=10,
        sub="s",
        dotted="d",
        bracketed="b",
        tags={"x", "y"},
        scores={1, 2},
        lines=["l0", "l1", "l2"],
        meta={"inner": {"deep": "v"}, "size": 4, "count": [7, 8]},
        dims=Dims(width=5, unit="cm"),
    )


T = Thing
