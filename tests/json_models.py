"""Entities with an attribute of every type, shared by the JSON and the Pydantic tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    DynamicMapAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from dynaorm import CreatedAtAttribute, Entity, Key, Table, UpdatedAtAttribute, VersionAttribute

__all__ = ["Address", "Everything", "Extras", "full", "shelf"]

shelf = Table("json-shelf")


class Address(MapAttribute[str, Any]):
    street = UnicodeAttribute()
    moved_in = UTCDateTimeAttribute(null=True)
    photo = BinaryAttribute(null=True, legacy_encoding=False)


class Extras(DynamicMapAttribute):
    rating = NumberAttribute(null=True)
    seen = UTCDateTimeAttribute(null=True)


class Everything(Entity, table=shelf):
    item_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    number = NumberAttribute(null=True)
    binary = BinaryAttribute(null=True, legacy_encoding=False)
    flag = BooleanAttribute(null=True)
    when = UTCDateTimeAttribute(null=True)
    texts = UnicodeSetAttribute(null=True)
    numbers = NumberSetAttribute(null=True)
    blobs = BinarySetAttribute(null=True, legacy_encoding=False)
    numbers_list = ListAttribute(of=NumberAttribute, null=True)
    addresses = ListAttribute(of=Address, null=True)
    anything = ListAttribute(null=True)
    address = Address(null=True)
    raw = MapAttribute(null=True)  # type: ignore[var-annotated]
    extras = Extras(null=True)
    document = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)
    version = VersionAttribute()
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute()
    primary = Key(pk="ITEM#{item_id}", sk="ITEM")


def full(version: int | None = 3) -> Everything:
    extras = Extras(rating=4.5, seen=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    extras.nickname = "bob"
    extras.avatar = b"\x89PNG"
    values: dict[str, Any] = {
        "item_id": "i1",
        "text": "héllo\n",
        "number": 12345678901234567890,
        "binary": b"\x00\xff\x10",
        "flag": False,
        "when": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        "texts": {"b", "a", ""},
        "numbers": {3, 1.5, -2},
        "blobs": {b"\x01", b"\x00"},
        "numbers_list": [1, 2.5, -3],
        "addresses": [Address(street="Main 1"), Address(street="Side 2", photo=b"jpg")],
        "anything": [1, "two", None, True, b"\x03", {"a", "b"}, {4, 5}, [{"k": b"v"}], {"$set": 1}],
        "address": Address(street="Home", moved_in=datetime(2020, 1, 1, tzinfo=UTC)),
        "raw": {"nested": {"deep": [1, {"x": b"y"}]}, "$binary": "not a tag here", "n": 1},
        "extras": extras,
        "document": {"a": [1, 2, {"b": None}], "c": "d", "e": 1.25},
        "expires": datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC),
        "version": version,
        "created": datetime(2024, 1, 1, tzinfo=UTC),
        "updated": datetime(2024, 1, 2, tzinfo=UTC),
    }
    return Everything(**{k: v for k, v in values.items() if v is not None})
