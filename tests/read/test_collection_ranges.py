"""Sort-key ranges on item-collection reads: several types in one range, in one query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pynamodb.attributes import UnicodeAttribute

from dynaorm import (
    Entity,
    Index,
    InvalidCursor,
    Key,
    SortKeyCondition,
    Table,
    ValidationError,
    sort_key,
)
from dynaorm.testing import unique_table_name

ranges_table = Table("test-collection-ranges", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Invoice(Entity, table=ranges_table):
    invoice_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute()
    primary = Key(pk="INVOICE#{invoice_id}", sk="INVOICE")
    by_customer = Key(index="GSI1", pk="CUSTOMER#{customer_id}", sk="{date}#i#{invoice_id}")


class Shipment(Entity, table=ranges_table):
    shipment_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    date = UnicodeAttribute()
    primary = Key(pk="SHIPMENT#{shipment_id}", sk="SHIPMENT")
    by_customer = Key(index="GSI1", pk="CUSTOMER#{customer_id}", sk="{date}#s#{shipment_id}")


DATES = [f"2020-06-{d:02d}" for d in range(1, 21)]
SEEDED: list[Entity] = [
    *(Invoice(invoice_id=f"i{n}", customer_id="c1", date=d) for n, d in enumerate(DATES)),
    *(Shipment(shipment_id=f"s{n}", customer_id="c1", date=d) for n, d in enumerate(DATES[::2])),
    Invoice(invoice_id="other", customer_id="c2", date=DATES[3]),
]


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-collection-ranges")


@pytest.fixture(scope="module")
def shop(dynamodb_endpoint: str) -> Iterator[Table]:
    table = ranges_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            for entity in SEEDED:
                entity.save()
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


def between(low: str, high: str) -> list[str]:
    """The independent evaluation: ids of c1's items dated low..high, in key order."""
    rows = [
        (e.date, "i" if isinstance(e, Invoice) else "s", e.item_key.key["PK"])
        for e in SEEDED
        if e.customer_id == "c1" and low <= e.date <= high  # type: ignore[attr-defined]
    ]
    return [pk for _, _, pk in sorted(rows)]


def pks(items: object) -> list[str]:
    return [e.item_key.key["PK"] for e in items]  # type: ignore[attr-defined]


def test_a_raw_range_reads_several_types_in_one_query(shop: Table) -> None:
    condition = sort_key.between("2020-06-05", "2020-06-12~")
    result = shop.partition(Invoice.by_customer, customer_id="c1", range=condition)
    assert pks(result) == between("2020-06-05", "2020-06-12")
    assert {type(e) for e in result} == {Invoice, Shipment}
    request = shop.partition_query(Invoice.by_customer, customer_id="c1", range=condition).compile()
    assert request["KeyConditionExpression"] == "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"
    values = request["ExpressionAttributeValues"]
    assert (values[":v1"], values[":v2"]) == ({"S": "2020-06-05"}, {"S": "2020-06-12~"})


@pytest.mark.parametrize(
    ("condition", "low", "high"),
    [
        (sort_key >= "2020-06-15", "2020-06-15", "9"),
        (sort_key > "2020-06-15~", "2020-06-16", "9"),
        (sort_key < "2020-06-03", "0", "2020-06-02"),
        (sort_key <= "2020-06-03~", "0", "2020-06-03"),
        (sort_key.begins_with("2020-06-1"), "2020-06-10", "2020-06-19"),
    ],
)
def test_every_operator(shop: Table, condition: SortKeyCondition, low: str, high: str) -> None:
    query = shop.partition_query(Invoice.by_customer, customer_id="c1").range(condition)
    assert pks(query) == between(low, high)


def test_a_range_built_from_a_template(shop: Table) -> None:
    query = shop.partition_query(Invoice.by_customer, customer_id="c1")
    ranged = query.range(Invoice.date.between("2020-06-04", "2020-06-08"))
    assert pks(ranged) == between("2020-06-04", "2020-06-08")
    assert ranged.compile()["KeyConditionExpression"].endswith("BETWEEN :v1 AND :v2")
    reverse = ranged.reverse().all()
    assert pks(reverse) == between("2020-06-04", "2020-06-08")[::-1]


def test_pages_and_cursors_stay_in_the_range(shop: Table) -> None:
    query = shop.partition_query(
        Invoice.by_customer, customer_id="c1", range=sort_key >= "2020-06-07"
    ).limit(4)
    seen: list[str] = []
    page = query.page()
    seen += pks(page)
    while page.cursor is not None:
        page = query.after(page.cursor).page()
        seen += pks(page)
    assert seen == between("2020-06-07", "9")
    first = query.page().cursor
    assert first is not None
    with pytest.raises(InvalidCursor):  # another range: another query
        shop.partition_query(
            Invoice.by_customer, customer_id="c1", range=sort_key.begins_with("2020")
        ).after(first).page()


def test_misuse_is_refused(shop: Table) -> None:
    query = shop.partition_query(Invoice.by_customer, customer_id="c1")
    with pytest.raises(ValidationError, match="already has"):
        query.range(sort_key >= "a").range(sort_key >= "b")
    with pytest.raises(ValidationError, match="not both"):
        query.range(sort_key >= "a", Invoice.date >= "2020")
    with pytest.raises(ValidationError, match="another index"):
        query.range(Invoice.date >= "x", key=Invoice.primary)
    with pytest.raises(ValidationError, match="strict comparison"):
        query.range(Invoice.date == "2020-06-01", Invoice.invoice_id > "i1")
    with pytest.raises(ValidationError):
        sort_key.between("b", "a")
    with pytest.raises(ValidationError):
        sort_key >= ""  # noqa: B015
