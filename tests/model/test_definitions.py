"""Definition-time errors: tables, indexes, entities and their keys (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from dynaorm import (
    BoundKey,
    ConfigurationError,
    Entity,
    Index,
    Key,
    Table,
    ValidationError,
    VersionAttribute,
)


def shop(**kwargs: Any) -> Table:
    """A fresh table definition (never created: these tests send no requests)."""
    kwargs.setdefault("indexes", [Index("GSI1", pk="GSI1PK", sk="GSI1SK")])
    return Table("definitions", **kwargs)


# -- a correct definition -----------------------------------------------------------------


def test_a_correct_definition_binds_keys_and_registers_the_entity() -> None:
    table = shop(
        indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK"), Index("LSI1", sk="LSK", local=True)]
    )

    class Order(Entity, table=table):
        customer_id = UnicodeAttribute()
        order_id = UnicodeAttribute()
        seq = NumberAttribute()
        placed_at = UTCDateTimeAttribute()
        version = VersionAttribute()
        primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
        by_time = Key(index="GSI1", pk="ORDERS", sk="{placed_at}#{seq:08d}")
        by_seq = Key(index="LSI1", sk="SEQ#{seq:08d}")

    assert table.entities == {"Order": Order}
    assert Order.__type_name__ == "Order"
    assert Order.__version_attribute__ == "version"
    assert isinstance(Order.primary, BoundKey)
    assert Order.primary.fields == ("customer_id", "order_id")
    assert Order.by_time.written_attributes == ("GSI1PK", "GSI1SK")
    # A local index shares the primary partition key and writes only its sort key.
    assert Order.by_seq.pk is Order.primary.pk
    assert Order.by_seq.written_attributes == ("LSK",)
    assert Order.primary.describe() == "pk='CUSTOMER#{customer_id}', sk='ORDER#{order_id}'"
    assert "Order" in repr(table)


def test_abstract_entities_share_attributes_and_cannot_be_used() -> None:
    table = shop()

    class Base(Entity):
        tenant = UnicodeAttribute()

    class User(Base, table=table):
        user_id = UnicodeAttribute()
        primary = Key(pk="TENANT#{tenant}", sk="USER#{user_id}")

    assert User.key(tenant="t", user_id="u").key == {"PK": "TENANT#t", "SK": "USER#u"}
    with pytest.raises(ConfigurationError, match="Base is abstract: declare it with table="):
        Base.key()
    with pytest.raises(ConfigurationError, match="abstract"):
        Base(tenant="t").to_item()


def test_keys_are_inherited_from_an_abstract_base() -> None:
    table = shop()

    class Keyed(Entity):
        item_id = UnicodeAttribute()
        primary = Key(pk="ITEM#{item_id}", sk="ITEM")

    class Thing(Keyed, table=table):
        pass

    assert Thing.key(item_id="1").key == {"PK": "ITEM#1", "SK": "ITEM"}


# -- key templates against the entity -------------------------------------------------------


def test_template_naming_an_unknown_attribute() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"Order\.primary\.sk: key template 'ORDER#\{order_no\}' names \{order_no\}, "
        r"which is not an attribute of the entity",
    ):

        class Order(Entity, table=shop()):
            customer_id = UnicodeAttribute()
            order_id = UnicodeAttribute()
            primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_no}")


def test_template_naming_an_unknown_attribute_in_an_index_key() -> None:
    with pytest.raises(ConfigurationError, match=r"Order\.by_email\.pk: .*names \{email\}"):

        class Order(Entity, table=shop()):
            order_id = UnicodeAttribute()
            primary = Key(pk="ORDER#{order_id}", sk="ORDER")
            by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="X")


@pytest.mark.parametrize(
    ("attribute", "template", "message"),
    [
        (BooleanAttribute(), "{field}", "Thing.field is a BooleanAttribute; key templates take"),
        (ListAttribute(), "{field}", "Thing.field is a ListAttribute"),
        (UnicodeAttribute(), "{field:08d}", "text fields take no format spec"),
        (UTCDateTimeAttribute(), "{field:08d}", "datetime fields take the formats"),
        (NumberAttribute(), "{field:zz}", "'zz' is not a valid number format"),
        (NumberAttribute(), "{field:08x}", "does not read back"),
    ],
)
def test_unsupported_field_types_and_specs(attribute: Any, template: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.")):
        type(
            "Thing",
            (Entity,),
            {"field": attribute, "primary": Key(pk=f"T#{template}", sk="T")},
            table=shop(),
        )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{a}{b}", r"fields \{a\} and \{b\} must be separated by literal text"),
        ("{a}#{a}", "repeats a field"),
    ],
)
def test_fields_must_be_separated_by_literal_text(template: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):

        class Pair(Entity, table=shop()):
            a = UnicodeAttribute()
            b = UnicodeAttribute()
            primary = Key(pk="PAIR", sk=template)


def test_fields_separated_by_a_custom_delimiter() -> None:
    table = shop(delimiter="|")

    class Pair(Entity, table=table):
        a = UnicodeAttribute()
        b = UnicodeAttribute()
        primary = Key(pk="PAIR", sk="{a}|{b}")

    assert Pair.key(a="x#y", b="z").key["SK"] == "x#y|z"
    with pytest.raises(ValidationError, match=r"a='x\|y' contains the key delimiter '\|'"):
        Pair.key(a="x|y", b="z")

    # Other literal text separates fields too; a value may not hold it.
    class Other(Entity, table=table):
        a = UnicodeAttribute()
        b = UnicodeAttribute()
        primary = Key(pk="OTHER", sk="{a}#{b}")

    assert Other.key(a="x", b="y#z").key["SK"] == "x#y#z"
    with pytest.raises(ValidationError, match=r"a='x#y' contains \(or runs into\) the text '#'"):
        Other.key(a="x#y", b="z")


# -- primary keys ---------------------------------------------------------------------------


def test_no_primary_key() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"Thing needs exactly one primary Key \(without index=\), found none",
    ):

        class Thing(Entity, table=shop()):
            thing_id = UnicodeAttribute()


def test_two_primary_keys() -> None:
    with pytest.raises(ConfigurationError, match=r"exactly one primary Key.*'one', 'two'"):

        class Thing(Entity, table=shop()):
            thing_id = UnicodeAttribute()
            one = Key(pk="A#{thing_id}", sk="A")
            two = Key(pk="B#{thing_id}", sk="B")


def test_primary_key_without_pk() -> None:
    with pytest.raises(ConfigurationError, match=r"Thing\.primary: the primary key needs a pk"):

        class Thing(Entity, table=shop()):
            thing_id = UnicodeAttribute()
            primary = Key(sk="A#{thing_id}")


def test_primary_key_missing_sk_on_a_table_with_one() -> None:
    with pytest.raises(
        ConfigurationError, match=r"Thing\.primary: table 'definitions' needs an sk template"
    ):

        class Thing(Entity, table=shop()):
            thing_id = UnicodeAttribute()
            primary = Key(pk="THING#{thing_id}")


def test_primary_key_with_sk_on_a_table_without_one() -> None:
    with pytest.raises(ConfigurationError, match=r"table 'definitions' has no sort key; drop sk="):

        class Thing(Entity, table=shop(sk=None, indexes=[])):
            thing_id = UnicodeAttribute()
            primary = Key(pk="THING#{thing_id}", sk="THING")


def test_table_without_sort_key() -> None:
    table = shop(sk=None, indexes=[])

    class Thing(Entity, table=table):
        thing_id = UnicodeAttribute()
        primary = Key(pk="THING#{thing_id}")

    assert Thing.key(thing_id="1").key == {"PK": "THING#1"}


# -- index keys -----------------------------------------------------------------------------


def test_index_not_on_the_table() -> None:
    with pytest.raises(
        ConfigurationError, match=r"table 'definitions' has no index 'GSI9' \(indexes: GSI1\)"
    ):

        class Thing(Entity, table=shop()):
            thing_id = UnicodeAttribute()
            primary = Key(pk="THING#{thing_id}", sk="THING")
            by_x = Key(index="GSI9", pk="X", sk="Y")


def test_index_on_a_table_without_indexes() -> None:
    with pytest.raises(ConfigurationError, match=r"has no index 'GSI1' \(indexes: none\)"):

        class Thing(Entity, table=shop(indexes=[])):
            thing_id = UnicodeAttribute()
            primary = Key(pk="THING#{thing_id}", sk="THING")
            by_x = Key(index="GSI1", pk="X", sk="Y")


def test_two_keys_on_the_same_index() -> None:
    with pytest.raises(
        ConfigurationError, match="Thing: keys 'by_a' and 'by_b' both populate index 'GSI1'"
    ):

        class Thing(Entity, table=shop()):
            a = UnicodeAttribute()
            b = UnicodeAttribute()
            primary = Key(pk="THING#{a}", sk="THING")
            by_a = Key(index="GSI1", pk="A#{a}", sk="A")
            by_b = Key(index="GSI1", pk="B#{b}", sk="B")


@pytest.mark.parametrize(
    ("index", "key", "message"),
    [
        (
            Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
            Key(index="GSI1", sk="X"),
            r"Thing\.by_x: global index 'GSI1' needs a pk template",
        ),
        (
            Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
            Key(index="GSI1", pk="X"),
            r"Thing\.by_x: index 'GSI1' needs an sk template",
        ),
        (
            Index("GSI1", pk="GSI1PK"),
            Key(index="GSI1", pk="X", sk="Y"),
            r"index 'GSI1' has no sort key; drop sk=",
        ),
        (
            Index("LSI1", sk="LSK", local=True),
            Key(index="LSI1", pk="X", sk="Y"),
            r"local index 'LSI1' shares the primary partition key; drop pk=",
        ),
        (
            Index("LSI1", sk="LSK", local=True),
            Key(index="LSI1"),
            r"local index 'LSI1' needs an sk template",
        ),
    ],
)
def test_wrong_key_parts_for_an_index(index: Index, key: Key, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):

        class Thing(Entity, table=shop(indexes=[index])):
            a = UnicodeAttribute()
            primary = Key(pk="THING#{a}", sk="THING")
            by_x = key


# -- the table's reserved attributes, type names and collisions -------------------------------


@pytest.mark.parametrize(
    ("attribute", "reserved"),
    [
        ({"PK": UnicodeAttribute()}, "PK"),
        ({"gsi": UnicodeAttribute(attr_name="GSI1SK")}, "GSI1SK"),
        ({"kind": UnicodeAttribute(attr_name="_type")}, "_type"),
    ],
)
def test_attribute_named_like_a_reserved_attribute(
    attribute: dict[str, Any], reserved: str
) -> None:
    with pytest.raises(
        ConfigurationError,
        match=rf"attribute name '{reserved}' is reserved by table 'definitions' for keys or the "
        "entity type",
    ):
        type(
            "Thing",
            (Entity,),
            {"a": UnicodeAttribute(), "primary": Key(pk="T#{a}", sk="T"), **attribute},
            table=shop(),
        )


def test_custom_type_attribute_is_reserved() -> None:
    with pytest.raises(ConfigurationError, match="'kind' is reserved"):

        class Thing(Entity, table=shop(type_attribute="kind")):
            a = UnicodeAttribute()
            kind = UnicodeAttribute()
            primary = Key(pk="T#{a}", sk="T")


def test_several_version_attributes() -> None:
    with pytest.raises(ConfigurationError, match="Thing has several version attributes"):

        class Thing(Entity, table=shop()):
            a = UnicodeAttribute()
            v1 = VersionAttribute()
            v2 = VersionAttribute()
            primary = Key(pk="T#{a}", sk="T")


def test_type_name_without_table() -> None:
    with pytest.raises(ConfigurationError, match="Thing: type_name= needs table="):

        class Thing(Entity, type_name="thing"):
            a = UnicodeAttribute()


def test_duplicate_entity_type_names() -> None:
    table = shop()

    class Customer(Entity, table=table):
        customer_id = UnicodeAttribute()
        primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")

    with pytest.raises(
        ConfigurationError,
        match=r"entity type name 'Customer' is used by both .*Customer and .*Customer; "
        "pass type_name= to one",
    ):

        class Customer(Entity, table=table):  # type: ignore[no-redef]
            customer_id = UnicodeAttribute()
            primary = Key(pk="CLIENT#{customer_id}", sk="PROFILE")

    with pytest.raises(ConfigurationError, match="entity type name 'Customer' is used by both"):

        class Client(Entity, table=table, type_name="Customer"):
            customer_id = UnicodeAttribute()
            primary = Key(pk="CLIENT#{customer_id}", sk="PROFILE")

    class Renamed(Entity, table=table, type_name="Client"):
        customer_id = UnicodeAttribute()
        primary = Key(pk="CLIENT#{customer_id}", sk="PROFILE")

    assert set(table.entities) == {"Customer", "Client"}


def test_primary_templates_that_can_produce_the_same_key() -> None:
    table = shop()

    class Customer(Entity, table=table):
        customer_id = UnicodeAttribute()
        primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")

    with pytest.raises(
        ConfigurationError,
        match=r"the primary keys of .*Profile \(pk='CUSTOMER#\{id\}', sk='\{kind\}'\) and "
        r".*Customer \(pk='CUSTOMER#\{customer_id\}', sk='PROFILE'\) can produce the same key; "
        "give one of them a distinct constant prefix",
    ):

        class Profile(Entity, table=table):
            id = UnicodeAttribute()
            kind = UnicodeAttribute()
            primary = Key(pk="CUSTOMER#{id}", sk="{kind}")

    # Neither the failed class nor its type name was registered.
    assert set(table.entities) == {"Customer"}


def test_entities_sharing_a_partition_with_distinct_sort_keys() -> None:
    table = shop()

    class Customer(Entity, table=table):
        customer_id = UnicodeAttribute()
        primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")

    class Order(Entity, table=table):
        customer_id = UnicodeAttribute()
        order_id = UnicodeAttribute()
        primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")

    class Product(Entity, table=table):
        sku = UnicodeAttribute()
        primary = Key(pk="PRODUCT#{sku}", sk="PROFILE")

    assert set(table.entities) == {"Customer", "Order", "Product"}


def test_collisions_on_a_table_without_sort_key() -> None:
    table = shop(sk=None, indexes=[])

    class A(Entity, table=table):
        a = UnicodeAttribute()
        primary = Key(pk="A#{a}")

    with pytest.raises(ConfigurationError, match="can produce the same key"):

        class B(Entity, table=table):
            b = UnicodeAttribute()
            c = UnicodeAttribute()
            primary = Key(pk="{b}#{c}")

    # A value can never contain the delimiter, so "{b}" cannot produce "A#...".
    class C(Entity, table=table):
        b = UnicodeAttribute()
        primary = Key(pk="{b}")


# -- Table and Index definitions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "an index needs a name"),
        ({"name": "L", "pk": "P", "sk": "S", "local": True}, "shares the table's partition key"),
        ({"name": "L", "local": True}, r"local index 'L' needs a sort key \(sk=\)"),
        ({"name": "G", "sk": "S"}, r"global index 'G' needs a partition key \(pk=\)"),
        (
            {"name": "G", "pk": "P", "projection": "INCLUDE"},
            "include= goes with projection='INCLUDE'",
        ),
        (
            {"name": "G", "pk": "P", "include": ["a"]},
            r"index 'G': include= goes with projection='INCLUDE' \(and only with it\)",
        ),
        (
            {"name": "G", "pk": "P", "projection": "SOME"},
            "projection must be ALL, KEYS_ONLY or INCLUDE, not 'SOME'",
        ),
    ],
)
def test_bad_index_definitions(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Index(**kwargs)


def test_index_projection_spec() -> None:
    assert Index("G", pk="P").projection_spec() == {"ProjectionType": "ALL"}
    assert Index("G", pk="P", projection="INCLUDE", include=["a", "b"]).projection_spec() == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["a", "b"],
    }
    assert Index("L", sk="S", local=True).key_attributes == ("S",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "a table needs a name"),
        ({"billing_mode": "ON_DEMAND"}, "billing_mode must be PAY_PER_REQUEST or PROVISIONED"),
        ({"read_capacity": 5}, "capacities apply only to billing_mode='PROVISIONED'"),
        ({"write_capacity": 5}, "capacities apply only to billing_mode='PROVISIONED'"),
        (
            {"indexes": [Index("G", pk="GP"), Index("G", pk="GP2")]},
            "index 'G' is repeated",
        ),
        (
            {"sk": None, "indexes": [Index("L", sk="LS", local=True)]},
            "local index 'L' needs a table with a sort key",
        ),
        (
            {"indexes": [Index("G", pk="PK")]},
            "each key attribute must belong to one key",
        ),
        ({"sk": "PK"}, "each key attribute must belong to one key"),
        ({"type_attribute": "SK"}, "type_attribute 'SK' is a key attribute"),
        ({"delimiter": "::"}, "the key delimiter must be a single character"),
        ({"delimiter": ""}, "the key delimiter must be a single character"),
    ],
)
def test_bad_table_definitions(kwargs: dict[str, Any], message: str) -> None:
    kwargs.setdefault("name", "definitions")
    with pytest.raises(ConfigurationError, match=message):
        Table(**kwargs)


def test_table_index_lookup_and_key_attributes() -> None:
    table = shop(indexes=[Index("GSI1", pk="G1P", sk="G1S"), Index("LSI1", sk="L1S", local=True)])
    assert table.index("LSI1").local
    assert table.key_attributes == ("PK", "SK", "G1P", "G1S", "L1S")
    assert table.reserved_attributes == {"PK", "SK", "G1P", "G1S", "L1S", "_type"}


def test_create_request_from_the_definition() -> None:
    table = Table(
        "definitions",
        pk="HK",
        sk="RK",
        billing_mode="PROVISIONED",
        read_capacity=3,
        write_capacity=4,
        indexes=[
            Index("GSI1", pk="G1P", sk="G1S", read_capacity=5, write_capacity=6),
            Index("GSI2", pk="G2P", projection="KEYS_ONLY"),
            Index("LSI1", sk="L1S", local=True, projection="INCLUDE", include=["x"]),
        ],
    )
    request = table.create_request()
    assert request["TableName"] == "definitions"
    assert request["KeySchema"] == [
        {"AttributeName": "HK", "KeyType": "HASH"},
        {"AttributeName": "RK", "KeyType": "RANGE"},
    ]
    assert [d["AttributeName"] for d in request["AttributeDefinitions"]] == [
        "HK",
        "RK",
        "G1P",
        "G1S",
        "G2P",
        "L1S",
    ]
    assert {d["AttributeType"] for d in request["AttributeDefinitions"]} == {"S"}
    assert request["BillingMode"] == "PROVISIONED"
    assert request["ProvisionedThroughput"] == {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    gsi1, gsi2 = request["GlobalSecondaryIndexes"]
    assert gsi1["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6}
    assert gsi2["KeySchema"] == [{"AttributeName": "G2P", "KeyType": "HASH"}]
    assert gsi2["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    (lsi,) = request["LocalSecondaryIndexes"]
    assert lsi["KeySchema"] == [
        {"AttributeName": "HK", "KeyType": "HASH"},
        {"AttributeName": "L1S", "KeyType": "RANGE"},
    ]
    # The table's type attribute is projected into every INCLUDE index.
    assert lsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x", "_type"]}


def test_on_demand_create_request_has_no_throughput() -> None:
    request = shop().create_request()
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in request
    assert "ProvisionedThroughput" not in request["GlobalSecondaryIndexes"][0]
    assert "LocalSecondaryIndexes" not in request
