"""Entities declared with the template forms people write (literal text between fields, a
delimiter per key or template, casing, datetime formats), against the server: the keys are
stored byte for byte as declared, and gets and queries find the items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from dynaorm import ConfigurationError, Entity, Index, Key, Table, Template, ValidationError

Factory = Callable[[Table], Table]

reports = Table("test-key-forms", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Sales(Entity, table=reports):
    """The AWS relational example: sort keys such as ``2018-Q4``."""

    region = UnicodeAttribute()
    year = UnicodeAttribute()
    quarter = NumberAttribute()
    total = NumberAttribute(default=0)
    primary = Key(pk="SALES#{region}", sk=Template("{year}-Q{quarter:d}", delimiter=None))


class Shipment(Entity, table=reports):
    order_id = UnicodeAttribute()
    day = UTCDateTimeAttribute()
    shipment_id = UnicodeAttribute()
    status = UnicodeAttribute()
    sent_at = UTCDateTimeAttribute()
    primary = Key(pk="order_{order_id}", sk="ship_{day:date}_{shipment_id}", delimiter="_")
    by_status = Key(
        index="GSI1",
        pk=Template("STATUS#{status}", casing="upper"),
        sk="{sent_at:secondsZ}#{shipment_id}",
        casing="lower",
    )


class Reading(Entity, table=reports):
    sensor = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    value = NumberAttribute(default=0)
    primary = Key(pk="SENSOR#{sensor}", sk="AT#{at:epoch}", casing="lower")


@pytest.fixture
def table(table_factory: Factory) -> Table:
    return table_factory(reports)


def stored(table: Table) -> dict[tuple[str, str], dict[str, str]]:
    items = table.call("Scan", {"TableName": table.name, "ConsistentRead": True}, idempotent=True)
    return {
        (i["PK"]["S"], i["SK"]["S"]): {k: v["S"] for k, v in i.items() if k.startswith("GSI")}
        for i in items["Items"]
    }


def test_literal_text_between_fields(table: Table) -> None:
    for year, quarter in (("2017", 4), ("2018", 1), ("2018", 2), ("2018", 4), ("2019", 1)):
        Sales(region="eu", year=year, quarter=quarter, total=quarter * 10).save()
    assert ("SALES#eu", "2018-Q4") in stored(table)
    got = Sales.get(region="eu", year="2018", quarter=4)
    assert got is not None
    assert got.total == 40
    in_2018 = Sales.query(region="eu").range(Sales.year == "2018").consistent().all()
    assert [(s.year, s.quarter) for s in in_2018] == [("2018", 1), ("2018", 2), ("2018", 4)]
    prefix = Sales.query(region="eu").range(Sales.year.startswith("201")).consistent().all()
    assert len(prefix) == 5
    with pytest.raises(ValidationError, match="runs into"):
        Sales(region="eu", year="2018-Q", quarter=1).save()


def test_a_delimiter_per_key_and_casing_per_template(table: Table) -> None:
    day = datetime(2019, 1, 18, tzinfo=UTC)
    sent = datetime(2019, 1, 18, 10, 30, tzinfo=UTC)
    Shipment(order_id="o1", day=day, shipment_id="S1", status="new", sent_at=sent).save()
    assert stored(table) == {
        ("order_o1", "ship_2019-01-18_S1"): {
            "GSI1PK": "STATUS#NEW",
            "GSI1SK": "2019-01-18T10:30:00Z#s1",  # casing leaves datetimes as they are
        }
    }
    got = Shipment.get(order_id="o1", day=day, shipment_id="S1")
    assert got is not None
    assert got.status == "new"
    found = Shipment.by_status.query(status="New").all()  # the embedded server is consistent
    assert [s.shipment_id for s in found] == ["S1"]
    with pytest.raises(ValidationError, match="contains the key delimiter '_'"):
        Shipment(order_id="o_2", day=day, shipment_id="S2", status="x", sent_at=sent).save()
    with pytest.raises(ValidationError, match="no time of day"):
        Shipment(order_id="o3", day=sent, shipment_id="S3", status="x", sent_at=sent).save()


def test_a_cased_key_reads_back_in_its_case(table: Table) -> None:
    sent = datetime(2019, 1, 18, 10, 30, tzinfo=UTC)
    item = Shipment(
        order_id="o1", day=datetime(2019, 1, 18), shipment_id="S1", status="new", sent_at=sent
    )
    raw = item.to_item()
    assert Shipment.by_status.sk.parse(raw["GSI1SK"]["S"]) == {
        "sent_at": sent,
        "shipment_id": "s1",
    }


def test_epoch_seconds_sort_as_time_and_range(table: Table) -> None:
    moments = [datetime(2018, 1, 8, 10, minute, tzinfo=UTC) for minute in (0, 15, 30, 45)]
    for n, at in enumerate(moments):
        Reading(sensor="T1", at=at, value=n).save()
    keys = sorted(sk for _, sk in stored(table))
    assert keys[0] == "at#1515405600"
    between = (
        Reading.query(sensor="T1")
        .range(Reading.at.between(moments[1], moments[2]))
        .consistent()
        .all()
    )
    assert [r.value for r in between] == [1, 2]
    later = Reading.query(sensor="T1").range(Reading.at > moments[2]).consistent().all()
    assert [r.value for r in later] == [3]
    with pytest.raises(ValidationError, match="whole seconds"):
        Reading(sensor="T1", at=datetime(2018, 1, 8, 0, 0, 0, 5, tzinfo=UTC)).save()


# -- the collision check with the new forms ------------------------------------------------------

carriers = Table("test-key-forms-carriers")


class Order(Entity, table=carriers):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")


class Carrier(Entity, table=carriers):
    """A bare-field sort key beside Order: its values hold no '#', Order's keys all do."""

    customer_id = UnicodeAttribute()
    carrier = UnicodeAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="{carrier}")


def test_a_bare_field_sort_key_is_accepted_where_the_check_proves_it_apart() -> None:
    assert Carrier.key(customer_id="c1", carrier="ups").key == {"PK": "CUSTOMER#c1", "SK": "ups"}


def test_a_bare_field_sort_key_is_refused_where_it_could_collide() -> None:
    with pytest.raises(ConfigurationError, match=r"can produce the same key.*assume_disjoint"):

        class Profile(Entity, table=carriers):
            customer_id = UnicodeAttribute()
            primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")  # "{carrier}" = "PROFILE"

    with pytest.raises(ConfigurationError, match="can produce the same key"):

        class Dashed(Entity, table=carriers):
            customer_id = UnicodeAttribute()
            carrier = UnicodeAttribute()
            # No delimiter: "{carrier}" may hold '#' and build "ORDER#o1".
            primary = Key(pk="CUSTOMER#{customer_id}", sk="{carrier}", delimiter=None)


def test_assume_disjoint_opts_out_of_the_check() -> None:
    class Settings(Entity, table=carriers):
        customer_id = UnicodeAttribute()
        primary = Key(pk="CUSTOMER#{customer_id}", sk="SETTINGS", assume_disjoint=True)

    assert Settings.__primary__.assume_disjoint


def test_a_key_casing_mapping_applies_to_each_template_s_own_fields() -> None:
    table = Table("test-key-forms-casing")

    class Ticket(Entity, table=table):
        queue = UnicodeAttribute()
        status = UnicodeAttribute()
        primary = Key(pk="Q#{queue}", sk="S#{status}", casing={"queue": "lower", "status": "upper"})

    assert Ticket.key(queue="Ops", status="open").key == {"PK": "Q#ops", "SK": "S#OPEN"}
    with pytest.raises(ConfigurationError, match="casing names state"):

        class Bad(Entity, table=table):
            queue = UnicodeAttribute()
            primary = Key(pk="B#{queue}", sk="B", casing={"state": "upper"})
