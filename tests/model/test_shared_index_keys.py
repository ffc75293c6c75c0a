"""Indexes keyed on attributes other keys use: the table's sort key (inverted index) and one
attribute sorted on by two indexes."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import UnicodeAttribute

from dynaorm import ConfigurationError, Entity, Index, Key, Table


def _table() -> Table:
    return Table(
        "shared-keys",
        indexes=[
            Index("GSI1", pk="SK", sk="Data"),
            Index("GSI2", pk="GSI-Bucket", sk="Data"),
        ],
    )


def _entity(table: Table) -> Any:
    class Edge(Entity, table=table):
        node = UnicodeAttribute()
        target = UnicodeAttribute()
        data = UnicodeAttribute(null=True)
        bucket = UnicodeAttribute(null=True)
        primary = Key(pk="{node}", sk="{target}")
        inverted = Key(index="GSI1", sk="{data}")
        by_bucket = Key(index="GSI2", pk="{bucket}", sk="{data}")

    return Edge


def test_definitions_list_each_attribute_once() -> None:
    table = _table()
    assert table.key_attributes == ("PK", "SK", "Data", "GSI-Bucket")
    names = [d["AttributeName"] for d in table.create_request()["AttributeDefinitions"]]
    assert names == ["PK", "SK", "Data", "GSI-Bucket"]


def test_index_on_the_sort_key_takes_the_primary_template() -> None:
    edge = _entity(_table())
    assert edge.inverted.pk.source == "{target}"
    item = edge(node="A", target="B", data="x", bucket="3").to_item()
    assert item["SK"] == {"S": "B"}
    assert item["Data"] == {"S": "x"}
    assert item["GSI-Bucket"] == {"S": "3"}
    # GSI2 incomplete: Data is still written for GSI1, GSI-Bucket is not.
    item = edge(node="A", target="B", data="x").to_item()
    assert item["Data"] == {"S": "x"}
    assert "GSI-Bucket" not in item


def test_conflicting_templates_are_refused() -> None:
    table = _table()
    with pytest.raises(ConfigurationError, match="the primary key builds"):

        class Wrong(Entity, table=table):
            node = UnicodeAttribute()
            primary = Key(pk="N#{node}", sk="N")
            inverted = Key(index="GSI1", pk="OTHER", sk="{node}")

    with pytest.raises(ConfigurationError, match="different templates"):

        class Clash(Entity, table=_table()):
            node = UnicodeAttribute()
            data = UnicodeAttribute()
            primary = Key(pk="N#{node}", sk="N")
            inverted = Key(index="GSI1", sk="D#{data}")
            by_bucket = Key(index="GSI2", pk="B", sk="{data}")


def test_writes_updates_and_queries(table_factory: Any) -> None:
    table = _table()
    edge = _entity(table)
    table_factory(table)
    edge(node="A", target="B", data="x", bucket="1").save()
    edge(node="C", target="B", data="y", bucket="1").save()
    with table.batch_write() as batch:
        batch.put(edge(node="D", target="B", data="w", bucket="2"))
    edge(node="E", target="F", data="v", bucket="1").save()
    assert [e.node for e in edge.inverted.query(target="B")] == ["D", "A", "C"]
    assert [e.node for e in edge.by_bucket.query(bucket="1")] == ["E", "A", "C"]

    first = edge.get(node="A", target="B")
    first.update(edge.data.set("z"))
    assert [e.node for e in edge.inverted.query(target="B")] == ["D", "C", "A"]
    first.update(edge.bucket.remove())
    # Data stays for GSI1; only GSI-Bucket goes.
    assert [e.node for e in edge.inverted.query(target="B")] == ["D", "C", "A"]
    assert [e.node for e in edge.by_bucket.query(bucket="1")] == ["E", "C"]
    edge.update_by_key(edge.key(node="C", target="B"), edge.data.set("a"), edge.bucket.set("1"))
    assert [e.node for e in edge.inverted.query(target="B")] == ["C", "D", "A"]


@pytest.mark.requires("transactions")
def test_transaction_put_writes_shared_keys(table_factory: Any) -> None:
    table = _table()
    edge = _entity(table)
    table_factory(table)
    with table.transaction() as tx:
        tx.put(edge(node="E", target="F", data="v", bucket="1"))
    assert [e.node for e in edge.inverted.query(target="F")] == ["E"]
    assert [e.node for e in edge.by_bucket.query(bucket="1")] == ["E"]
