"""Map attributes the model tests share: a typed map, a polymorphic map and a dynamic map."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
    DynamicMapAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)


class Address(MapAttribute[str, Any]):
    street = UnicodeAttribute()
    zip_code = UnicodeAttribute(attr_name="zip", null=True)
    since = UTCDateTimeAttribute(null=True)


class Shape(MapAttribute[str, Any]):
    kind = DiscriminatorAttribute()


class Circle(Shape, discriminator="circle"):
    radius = NumberAttribute()


class Square(Shape, discriminator="square"):
    side = NumberAttribute()


class Extras(DynamicMapAttribute):
    known = UnicodeAttribute(null=True)
