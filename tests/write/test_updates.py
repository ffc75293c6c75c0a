"""Updates against the server: every action, ReturnValues, index keys kept in step, upserts,
refusals, timestamps and the reusable request builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.operand import Path
from write_models import Dims, T, Thing, lab, raw_item, sample

from dynaorm import (
    ConditionFailed,
    CreatedAtAttribute,
    Entity,
    Index,
    ItemKey,
    Key,
    Table,
    UpdatedAtAttribute,
    ValidationError,
    VersionAttribute,
)
from dynaorm.write.updates import build_update

Factory = Callable[[Table], Table]
Recorder = Callable[[Table], list[str]]

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)

shop = Table(
    "test-updates-shop",
    indexes=[
        Index("GSI1", pk="GSI1PK", sk="GSI1SK"),
        Index("GSI2", pk="GSI2PK", sk="GSI2SK"),
        Index("LSI1", sk="LSI1SK", local=True),
    ],
)


class Order(Entity, table=shop):
    customer_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()
    placed_at = UTCDateTimeAttribute()
    total = NumberAttribute(null=True)
    flag = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    version = VersionAttribute()
    primary = Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}")
    flagged = Key(index="GSI2", pk="FLAG#{flag}", sk="ORDER#{customer_id}#{order_id}")
    by_total = Key(index="LSI1", sk="TOTAL#{total:010d}")


class Ticket(Entity, table=shop):
    """Unversioned: index keys computed from instance values are guarded by conditions."""

    ticket_id = UnicodeAttribute()
    status = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()
    title = UnicodeAttribute(null=True)
    created = CreatedAtAttribute()
    updated = UpdatedAtAttribute()
    primary = Key(pk="TICKET#{ticket_id}", sk="TICKET")
    by_status = Key(index="GSI1", pk="TSTATUS#{status}", sk="{opened_at}")
    recent = Key(index="GSI2", pk="TICKETS", sk="{updated}")


def order(**overrides: Any) -> Order:
    values: dict[str, Any] = {
        "customer_id": "c1",
        "order_id": "o1",
        "status": "NEW",
        "placed_at": JAN,
        "total": 5,
    }
    return Order(**(values | overrides))


def query_index(table: Table, index: str, pk: str) -> list[dict[str, Any]]:
    attribute = table.index(index).pk
    response = table.call(
        "Query",
        {
            "TableName": table.name,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": attribute},
            "ExpressionAttributeValues": {":p": {"S": pk}},
        },
        idempotent=True,
    )
    items: list[dict[str, Any]] = response["Items"]
    return items


def assert_no_stale_index_keys(table: Table) -> None:
    """Every stored item's index key attributes are exactly what its attributes produce."""
    scanned = table.call("Scan", {"TableName": table.name, "ConsistentRead": True}, idempotent=True)
    index_attributes = set(table.key_attributes) - {table.pk, table.sk}
    assert scanned["Items"]
    for item in scanned["Items"]:
        expected = table.from_item(item).to_item()
        for attribute in index_attributes:
            assert item.get(attribute) == expected.get(attribute), (attribute, item)


# -- every action, with reserved and awkward names -------------------------------------------


def test_set_and_remove_with_reserved_names(table_factory: Factory) -> None:
    table_factory(lab)
    thing = sample()
    thing.save()
    thing.update(
        T.name.set("Bob"),
        T.status.remove(),
        T.sub.set("S"),
        T.dotted.set("D"),
        T.bracketed.set("B"),
        T.meta["size"].set(40),
        T.dims.unit.set("mm"),
        T.lines[0].set("L0"),
    )
    assert (thing.name, thing.status, thing.sub, thing.dotted, thing.bracketed) == (
        "Bob",
        None,
        "S",
        "D",
        "B",
    )
    assert thing.meta is not None
    assert thing.meta["size"] == 40
    assert thing.dims is not None
    assert thing.dims.unit == "mm"
    assert thing.lines == ["L0", "l1", "l2"]
    assert Thing.get(thing_id="t1", consistent=True) == thing


def test_numbers_add_and_arithmetic(table_factory: Factory) -> None:
    table_factory(lab)
    sample().save()
    key = Thing.key(thing_id="t1")
    updated = Thing.update_by_key(
        key, T.count.add(5), T.size.set(T.size + 2), T.meta["size"].set(T.meta["size"] - 1)
    )
    assert (updated.count, updated.size, updated.meta["size"]) == (15, 5, 3)  # type: ignore[index]
    again = Thing.update_by_key(key, T.count.set(T.count - 20), T.size.set(10 - T.size))
    assert (again.count, again.size) == (-5, 5)


def test_sets_add_and_delete(table_factory: Factory) -> None:
    table_factory(lab)
    sample().save()
    key = Thing.key(thing_id="t1")
    updated = Thing.update_by_key(key, T.tags.add({"z"}), T.scores.delete({1}))
    assert (updated.tags, updated.scores) == ({"x", "y", "z"}, {2})
    again = Thing.update_by_key(key, T.tags.delete({"x", "y", "z"}), T.scores.add({3, 4}))
    assert again.tags is None  # an emptied set is removed
    assert again.scores == {2, 3, 4}


def test_list_append_prepend_and_index_remove(table_factory: Factory) -> None:
    table_factory(lab)
    sample().save()
    key = Thing.key(thing_id="t1")
    assert Thing.update_by_key(key, T.lines.set(T.lines.append(["l3"]))).lines == [
        "l0",
        "l1",
        "l2",
        "l3",
    ]
    assert Thing.update_by_key(key, T.lines.set(T.lines.prepend(["l-1"]))).lines == [
        "l-1",
        "l0",
        "l1",
        "l2",
        "l3",
    ]
    assert Thing.update_by_key(key, T.lines[1].remove()).lines == ["l-1", "l1", "l2", "l3"]


def test_if_not_exists(table_factory: Factory) -> None:
    table_factory(lab)
    sample().save()
    key = Thing.key(thing_id="t1")
    updated = Thing.update_by_key(
        key,
        T.note.set(T.note | "first"),
        T.name.set(T.name | "ignored"),
        T.size.set((T.size | 0) + 1),
    )
    assert (updated.note, updated.name, updated.size) == ("first", "Ada", 4)
    assert Thing.update_by_key(key, T.note.set(T.note | "second")).note == "first"


def test_update_with_conditions_over_awkward_names(table_factory: Factory) -> None:
    table_factory(lab)
    thing = sample()
    thing.save()
    with pytest.raises(ConditionFailed):
        thing.update(T.count.add(1), condition=(T.bracketed == "b") & (T.meta["size"] > 4))
    assert thing.count == 10
    thing.update(
        T.count.add(1),
        condition=(T.bracketed == "b") & (T.dotted == "d") & (T.lines[2] == "l2") & T.sub.exists(),
    )
    assert thing.count == 11


def test_a_failed_update_condition_carries_the_stored_item(table_factory: Factory) -> None:
    table_factory(lab)
    sample().save()
    with pytest.raises(ConditionFailed, match="UpdateItem not applied") as caught:
        Thing.update_by_key(Thing.key(thing_id="t1"), T.count.add(1), condition=T.count > 10)
    assert type(caught.value) is ConditionFailed
    assert caught.value.item == sample()


def test_update_by_key_creates_a_complete_item(table_factory: Factory) -> None:
    table = table_factory(lab)
    created = Thing.update_by_key(Thing.key(thing_id="new"), T.count.add(1))
    assert created == Thing(thing_id="new", count=1)
    stored = raw_item(table, Thing.key(thing_id="new"))
    assert stored["_type"] == {"S": "Thing"}
    assert stored["thing_id"] == {"S": "new"}
    assert Thing.get(thing_id="new") == created


def test_a_condition_can_forbid_the_upsert(table_factory: Factory) -> None:
    table_factory(lab)
    with pytest.raises(ConditionFailed):
        Thing.update_by_key(
            Thing.key(thing_id="nope"), T.count.add(1), condition=T.thing_id.exists()
        )
    assert Thing.get(thing_id="nope", consistent=True) is None


# -- ReturnValues ----------------------------------------------------------------------------


def test_return_values_by_key(table_factory: Factory) -> None:
    table_factory(lab)
    key = Thing.key(thing_id="t1")
    assert Thing.update_by_key(key, T.count.set(1), return_values="ALL_OLD") is None
    assert Thing.update_by_key(key, T.count.add(1), return_values="NONE") is None
    old = Thing.update_by_key(key, T.count.add(1), T.name.set("n"), return_values="ALL_OLD")
    assert old == Thing(thing_id="t1", count=2)
    new = Thing.update_by_key(key, T.count.add(1), return_values="ALL_NEW")
    assert new == Thing(thing_id="t1", count=4, name="n")
    changed_old = Thing.update_by_key(
        key, T.count.add(1), T.dims.set(Dims(width=1)), return_values="UPDATED_OLD"
    )
    assert changed_old == {"count": 4}  # dims did not exist before
    changed_new = Thing.update_by_key(
        key, T.count.add(1), T.dotted.set("d"), T.name.remove(), return_values="UPDATED_NEW"
    )
    assert changed_new == {"count": 6, "dotted": "d"}


def test_updated_values_are_whole_attributes_even_for_nested_changes(
    table_factory: Factory,
) -> None:
    table_factory(lab)
    sample().save()
    key = Thing.key(thing_id="t1")
    new = Thing.update_by_key(
        key,
        T.dims.unit.set("mm"),
        T.lines[0].set("z"),
        T.meta["k"].set(1),
        T.tags.add({"q"}),
        return_values="UPDATED_NEW",
    )
    dims = new.pop("dims")
    assert isinstance(dims, Dims)  # decoded as the whole typed map, not a fragment
    assert (dims.width, dims.unit) == (5, "mm")
    assert new == {
        "lines": ["z", "l1", "l2"],
        "meta": {"inner": {"deep": "v"}, "size": 4, "count": [7, 8], "k": 1},
        "tags": {"q", "x", "y"},
    }
    old = Thing.update_by_key(key, T.dims.unit.set("km"), return_values="UPDATED_OLD")
    assert (old["dims"].width, old["dims"].unit) == (5, "mm")


def test_return_values_through_an_instance(table_factory: Factory) -> None:
    table_factory(lab)
    thing = Thing(thing_id="t1", count=1, name="a")
    thing.save()
    assert thing.update(T.count.add(1)) is thing
    assert thing.count == 2
    assert thing.update(T.count.add(1), return_values="NONE") is None
    assert thing.count == 3  # the instance reflects the stored item all the same
    old = thing.update(T.count.add(1), T.name.set("b"), return_values="ALL_OLD")
    assert old == Thing(thing_id="t1", count=3, name="a")
    assert (thing.count, thing.name) == (4, "b")
    assert thing.update(T.count.add(1), return_values="UPDATED_OLD") == {"count": 4}
    assert thing.count == 5
    assert thing.update(T.count.add(1), return_values="UPDATED_NEW") == {"count": 6}
    assert thing.count == 6


def test_unknown_return_values(table_factory: Factory) -> None:
    with pytest.raises(ValidationError, match="return_values='EVERYTHING'; use one of NONE"):
        Thing.update_by_key(
            Thing.key(thing_id="t1"),
            T.count.add(1),
            return_values="EVERYTHING",  # type: ignore[call-overload]
        )


# -- index keys kept in step -----------------------------------------------------------------


def test_changing_status_moves_the_item_between_index_partitions(table_factory: Factory) -> None:
    table = table_factory(shop)
    mine = order()
    mine.save()
    order(order_id="o2", status="NEW", placed_at=FEB).save()
    assert len(query_index(table, "GSI1", "STATUS#NEW")) == 2

    mine.update(Order.status.set("SHIPPED"), condition=Order.status == "NEW")
    new = query_index(table, "GSI1", "STATUS#NEW")
    shipped = query_index(table, "GSI1", "STATUS#SHIPPED")
    assert [i["order_id"]["S"] for i in new] == ["o2"]
    assert [i["order_id"]["S"] for i in shipped] == ["o1"]
    assert shipped[0]["GSI1SK"] == {"S": "2024-01-01T00:00:00.000000+0000"}
    assert shipped[0]["version"] == {"N": "2"}
    assert_no_stale_index_keys(table)

    # By key, setting every field the template needs.
    Order.update_by_key(
        Order.key(customer_id="c1", order_id="o2"),
        Order.status.set("SHIPPED"),
        Order.placed_at.set(JAN + timedelta(days=3)),
    )
    assert query_index(table, "GSI1", "STATUS#NEW") == []
    shipped = query_index(table, "GSI1", "STATUS#SHIPPED")
    assert [i["order_id"]["S"] for i in shipped] == ["o1", "o2"]
    assert_no_stale_index_keys(table)


def test_an_index_key_that_cannot_be_computed_is_refused(
    table_factory: Factory, sent_requests: Recorder
) -> None:
    table = table_factory(shop)
    order().save()
    sent = sent_requests(table)
    key = Order.key(customer_id="c1", order_id="o1")
    with pytest.raises(
        ValidationError,
        match=r"Order: the update changes status, used by index key by_status \(GSI1: "
        r"pk='STATUS#\{status\}', sk='\{placed_at\}'\), which also needs placed_at",
    ):
        Order.update_by_key(key, Order.status.set("SHIPPED"))
    with pytest.raises(ValidationError, match=r"Order\.total is used by index key by_total"):
        Order.update_by_key(key, Order.total.add(1))
    with pytest.raises(ValidationError, match=r"Order\.total is used by index key by_total"):
        order(version=1).update(Order.total.set(Order.total + 1))
    assert sent == []  # nothing was sent
    assert query_index(table, "GSI1", "STATUS#NEW")[0]["order_id"] == {"S": "o1"}
    assert_no_stale_index_keys(table)


def test_sparse_index_keys_follow_set_and_remove(table_factory: Factory) -> None:
    table = table_factory(shop)
    mine = order()
    mine.save()
    assert "GSI2PK" not in raw_item(table, mine.item_key)
    key = Order.key(customer_id="c1", order_id="o1")
    Order.update_by_key(key, Order.flag.set("red"))  # the template's other fields are key fields
    stored = raw_item(table, key)
    assert (stored["GSI2PK"], stored["GSI2SK"]) == ({"S": "FLAG#red"}, {"S": "ORDER#c1#o1"})
    assert len(query_index(table, "GSI2", "FLAG#red")) == 1
    Order.update_by_key(key, Order.flag.remove())
    stored = raw_item(table, key)
    assert "GSI2PK" not in stored
    assert "GSI2SK" not in stored
    assert query_index(table, "GSI2", "FLAG#red") == []
    Order.update_by_key(key, Order.flag.set(None))  # set(None) is a remove
    Order.update_by_key(key, Order.total.remove())  # the local index key goes too
    assert "LSI1SK" not in raw_item(table, key)
    Order.update_by_key(key, Order.total.set(42))
    assert raw_item(table, key)["LSI1SK"] == {"S": "TOTAL#0000000042"}
    assert_no_stale_index_keys(table)


def test_an_unversioned_instance_never_writes_a_key_from_stale_values(
    table_factory: Factory,
) -> None:
    table = table_factory(shop)
    Ticket(ticket_id="t1", status="OPEN", opened_at=JAN).save()
    stale = Ticket.get(ticket_id="t1", consistent=True)
    fresh = Ticket.get(ticket_id="t1", consistent=True)
    assert stale is not None
    assert fresh is not None
    fresh.update(Ticket.opened_at.set(FEB))

    with pytest.raises(ConditionFailed, match=r"opened_at is .*, not .*refresh\(\) it") as caught:
        stale.update(Ticket.status.set("CLOSED"))
    assert isinstance(caught.value.item, Ticket)
    assert caught.value.item.opened_at == FEB
    assert_no_stale_index_keys(table)
    stale.refresh()
    stale.update(Ticket.status.set("CLOSED"))
    closed = query_index(table, "GSI1", "TSTATUS#CLOSED")
    assert closed[0]["GSI1SK"] == {"S": "2024-02-01T00:00:00.000000+0000"}
    # An update that touches no template field is not guarded.
    fresh.update(Ticket.title.set("t"))
    assert_no_stale_index_keys(table)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Order.order_id.set("o2"), r"Order\.order_id is part of the primary key .*transaction"),
        (Order.customer_id.remove(), r"Order\.customer_id is part of the primary key"),
        (Order.version.set(7), r"Order\.version is the version attribute"),
        (Path(["GSI1PK"]).set("STATUS#X"), r"'GSI1PK', which dynaorm maintains"),
        (Path(["_type"]).remove(), r"'_type', which dynaorm maintains"),
        (Path(["PK"]).set("x"), r"'PK', which dynaorm maintains"),
    ],
)
def test_refused_actions(
    table_factory: Factory, sent_requests: Recorder, action: Any, message: str
) -> None:
    table = table_factory(shop)
    mine = order()
    mine.save()
    sent = sent_requests(table)
    with pytest.raises(ValidationError, match=message):
        mine.update(action)
    with pytest.raises(ValidationError, match=message):
        Order.update_by_key(mine.item_key, action)
    assert sent == []


def test_bad_update_calls(table_factory: Factory) -> None:
    with pytest.raises(ValidationError, match="nothing to update"):
        Order.update_by_key(Order.key(customer_id="c1", order_id="o1"))
    with pytest.raises(TypeError, match="expected an update action"):
        Order.update_by_key(
            Order.key(customer_id="c1", order_id="o1"),
            Order.status == "x",  # type: ignore[arg-type]
        )
    with pytest.raises(ValidationError, match="got a key of Ticket"):
        Order.update_by_key(Ticket.key(ticket_id="t1"), Order.note.set("x"))
    with pytest.raises(ValidationError, match="never saved: save\\(\\) it first"):
        order().update(Order.note.set("x"))
    with pytest.raises(ValidationError, match=r"cannot set a N value .* on a UnicodeAttribute"):
        Order.update_by_key(Order.key(customer_id="c1", order_id="o1"), Path(["status"]).set(5))


# -- timestamps ------------------------------------------------------------------------------


def test_updates_maintain_timestamps_and_their_index(table_factory: Factory) -> None:
    table = table_factory(shop)
    ticket = Ticket(ticket_id="t1", status="OPEN", opened_at=JAN)
    ticket.save()
    created, first = ticket.created, ticket.updated
    assert created is not None
    assert first is not None
    ticket.update(Ticket.title.set("hello"))
    assert ticket.created == created
    assert ticket.updated is not None
    assert ticket.updated > first
    recent = query_index(table, "GSI2", "TICKETS")
    assert recent[0]["GSI2SK"] == {"S": Ticket.updated.serialize(ticket.updated)}

    upserted = Ticket.update_by_key(
        Ticket.key(ticket_id="t2"), Ticket.status.set("OPEN"), Ticket.opened_at.set(FEB)
    )
    assert upserted.created is not None
    assert upserted.created == upserted.updated
    again = Ticket.update_by_key(Ticket.key(ticket_id="t2"), Ticket.title.set("x"))
    assert again.created == upserted.created
    assert again.updated is not None
    assert again.updated > upserted.created
    assert_no_stale_index_keys(table)


# -- the request builder (no server) ---------------------------------------------------------


def test_build_update_for_an_instance_and_by_key() -> None:
    mine = order(version=3)
    request = build_update(
        Order, mine.item_key, [Order.status.set("PAID")], condition=Order.total > 1, instance=mine
    )
    names = request["ExpressionAttributeNames"]
    values = request["ExpressionAttributeValues"]

    def name(n: str) -> str:
        return next(p for p, v in names.items() if v == n)

    def value(v: dict[str, str]) -> str:
        return next(p for p, x in values.items() if x == v)

    assert request["TableName"] == shop.name
    assert request["Key"] == ItemKey(Order, {"PK": "CUSTOMER#c1", "SK": "ORDER#o1"}).to_request()
    assert request["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert request["ConditionExpression"] == (
        f"({name('version')} = {value({'N': '3'})} AND {name('total')} > {value({'N': '1'})})"
    )
    expression = request["UpdateExpression"]
    assert f"{name('status')} = {value({'S': 'PAID'})}" in expression
    assert f"{name('version')} = {value({'N': '4'})}" in expression
    assert f"{name('GSI1PK')} = {value({'S': 'STATUS#PAID'})}" in expression
    assert "ReturnValues" not in request

    by_key = build_update(Order, mine.item_key, [Order.note.set("n")])
    assert "ConditionExpression" not in by_key
    assert "if_not_exists (#n1, :v1) + :v2" in by_key["UpdateExpression"]
    assert by_key["ExpressionAttributeNames"]["#n1"] == "version"
