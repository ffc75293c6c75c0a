"""The AWS Developer Guide's relational-modeling example (adjacency list) as a dynaorm design.

Source: "Example of modeling relational data in DynamoDB" (the adjacency-list version of the
page, under "Best practices for modeling relational data in DynamoDB"). What could be checked
against its text: the entity list (``HR-Employee - PK: EmployeeID, SK: Employee Name``,
``OE-Order - PK OrderID, SK: CustomerID``, ``OE-Product - PK: ProductID, SK: Product Name``,
``OE-Warehouse - PK: WarehouseID, SK: Region Name``), the generic ``PK``/``SK`` names, and that
edge items live in the employee, order and product partitions. The page's item table, its
GSI table and its access-pattern table are images (or were not available as text here), so
the item texts below (``HR-EMPLOYEE1``, ``OE-ORDER1``, ``Bucket-3``, ``2018-Q4``), the index
names ``GSI1``/``GSI2``, the ``Data`` and ``GSI-Bucket`` attribute names and the pattern
list follow the commonly reproduced form of that design, not a verbatim copy.

The table is keyed ``PK``/``SK``; ``GSI1`` is the inverted index on the table's ``SK`` sorted
by ``Data``; ``GSI2`` is keyed on the write-sharded ``GSI-Bucket`` and sorted by ``Data`` too.
Items: employees (``PK`` = ``HR-`` + the employee id, ``SK`` = the employee's name, ``Data`` =
the hire date), orders (``PK`` = ``OE-`` + the order id, ``SK`` = the customer id, ``Data`` =
status and date, ``GSI-Bucket`` = one of N buckets), quarterly sales totals in the employee's
partition (``SK`` = ``2018-Q4``, ``Data`` = the total) and products (``PK`` = ``OE-`` + the
product id, ``SK`` = the product name) holding one top-level quantity attribute per warehouse
(``Warehouse1..N``, dynamic attributes); edge items in the employee's partition for the
employee's warehouse (``SK`` = ``WAREHOUSE1``, ``Data`` = the name) and confidential HR data
(``SK`` = ``HR-CONFIDENTIAL``, ``Data`` = the hire date). Each access pattern is one request
(one get, one query, or one scatter over the buckets), checked against a plain Python
evaluation over seeded data.

Patterns covered: employee by id; employees by name; employees of a warehouse; employees
hired recently; an employee's whole partition; a customer's open orders in a date range; all
open orders in a date range (scatter over the buckets); account reps ranked by total in a
quarter; a product's inventory per warehouse and in total; products low in one warehouse
(a scan filter); receiving stock (one update). Not covered: the job-title, account-rep,
region/country/location and order-item patterns.

Differences from the published design: the published bucket is a value the writer picks
(a random number in 0..N); here it is computed from the order id (``Shard``), so that every
client agrees on it and the scatter knows the N buckets.
"""

from __future__ import annotations

import random
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import DynamicAttributes, Entity, Index, Key, Shard, Table, Template

BUCKETS = 4


def _design() -> tuple[Table, Any, Any, Any, Any, Any, Any]:
    table = Table(
        "aws-relational",
        indexes=[
            Index("GSI1", pk="SK", sk="Data"),
            Index("GSI2", pk="GSI-Bucket", sk="Data"),
        ],
    )

    class Employee(Entity, table=table, type_name="HR-Employee"):
        employee_id = UnicodeAttribute()
        name = UnicodeAttribute()
        hire_date = UnicodeAttribute()
        primary = Key(pk="HR-EMPLOYEE{employee_id}", sk="{name}")
        by_name = Key(index="GSI1", sk="{hire_date}")

    # Edge items in the employee's partition (their SKs are never employee names).
    class WorksIn(Entity, table=table, type_name="HR-EmployeeWarehouse"):
        employee_id = UnicodeAttribute()
        warehouse_id = UnicodeAttribute()
        name = UnicodeAttribute()
        primary = Key(
            pk="HR-EMPLOYEE{employee_id}", sk="WAREHOUSE{warehouse_id}", assume_disjoint=True
        )
        by_warehouse = Key(index="GSI1", sk="{name}#{employee_id}")

    class Confidential(Entity, table=table, type_name="HR-Confidential"):
        employee_id = UnicodeAttribute()
        hire_date = UnicodeAttribute()
        primary = Key(pk="HR-EMPLOYEE{employee_id}", sk="HR-CONFIDENTIAL", assume_disjoint=True)
        hired = Key(index="GSI1", sk="{hire_date}#{employee_id}")

    class Order(Entity, table=table, type_name="OE-Order"):
        order_id = UnicodeAttribute()
        customer_id = UnicodeAttribute()
        status = UnicodeAttribute()
        order_date = UnicodeAttribute()
        bucket = Shard("order_id", count=BUCKETS)
        primary = Key(pk="OE-ORDER{order_id}", sk="{customer_id}")
        by_customer = Key(index="GSI1", sk="{status}#{order_date}")
        by_bucket = Key(index="GSI2", pk="Bucket-{bucket}", sk="{status}#{order_date}")

    class SalesPeriod(Entity, table=table, type_name="HR-SalesPeriod"):
        employee_id = UnicodeAttribute()
        year = NumberAttribute()
        quarter = NumberAttribute()
        total = NumberAttribute()
        # In the employee's partition beside the employee's bare-name SK: periods are never
        # employee names, which the check cannot prove, so the key says so.
        primary = Key(
            pk="HR-EMPLOYEE{employee_id}",
            sk=Template("{year:d}-Q{quarter:d}", delimiter=None),
            assume_disjoint=True,
        )
        ranked = Key(index="GSI1", sk="{total:010d}#{employee_id}")

    class Product(Entity, table=table, type_name="OE-Product"):
        product_id = UnicodeAttribute()
        name = UnicodeAttribute()
        quantities = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
        primary = Key(pk="OE-PRODUCT{product_id}", sk="{name}")

    return table, Employee, Order, SalesPeriod, Product, WorksIn, Confidential


def test_aws_relational_access_patterns(table_factory: Any) -> None:
    table, employee, order, sales, product, works_in, confidential = _design()
    table_factory(table)
    rng = random.Random(14)
    names = ["John Smith", "Ana Lopez", "Wei Chen", "Sam Jones"]
    employees = [
        employee(employee_id=f"{i}", name=names[i % 4], hire_date=f"2018-0{1 + i % 9}-1{i % 10}")
        for i in range(12)
    ]
    orders = [
        order(
            order_id=f"{i}",
            customer_id=f"CUSTOMER{rng.randrange(5)}",
            status=rng.choice(["OPEN", "SHIPPED"]),
            order_date=f"2018-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        )
        for i in range(40)
    ]
    totals = [
        sales(employee_id=e.employee_id, year=2018, quarter=q, total=rng.randrange(100000))
        for e in employees
        for q in (3, 4)
    ]
    products = [
        product(
            product_id=f"{i}",
            name=f"Widget {i}",
            quantities={
                f"Warehouse{w}": rng.randrange(50) for w in range(1, 5) if rng.random() < 0.7
            },
        )
        for i in range(6)
    ]
    edges = [
        works_in(employee_id=e.employee_id, warehouse_id=f"{int(e.employee_id) % 3}", name=e.name)
        for e in employees
    ]
    private = [confidential(employee_id=e.employee_id, hire_date=e.hire_date) for e in employees]
    with table.batch_write() as batch:
        for entity in (*employees, *orders, *totals, *products, *edges, *private):
            batch.put(entity)

    # Employee details by employee id: the table's primary key.
    got = employee.get(employee_id="3", name=employees[3].name)
    assert got == employees[3]

    # Employees by name (GSI1 on the table's SK), in hire-date order.
    found = [e.employee_id for e in employee.by_name.query(name="Ana Lopez")]
    want = sorted((e for e in employees if e.name == "Ana Lopez"), key=lambda e: e.hire_date)
    assert found == [e.employee_id for e in want]

    # Employees of one warehouse (GSI1 keyed on "WAREHOUSE1"), by name.
    staff = [(w.name, w.employee_id) for w in works_in.by_warehouse.query(warehouse_id="1")]
    assert staff == sorted((w.name, w.employee_id) for w in edges if w.warehouse_id == "1")

    # Employees hired recently (GSI1 keyed on "HR-CONFIDENTIAL", Data after a date).
    recent = confidential.hired.query().range(confidential.hire_date >= "2018-06-01")
    want_recent = sorted(
        (c for c in private if c.hire_date >= "2018-06-01"),
        key=lambda c: (c.hire_date, c.employee_id),
    )
    assert [c.employee_id for c in recent] == [c.employee_id for c in want_recent]
    assert private[0].to_item()["SK"] == {"S": "HR-CONFIDENTIAL"}
    assert edges[1].to_item()["SK"] == {"S": "WAREHOUSE1"}

    # A customer's open orders in a date range (GSI1 keyed on the customer id).
    q = order.by_customer.query(customer_id="CUSTOMER1").range(
        (order.status == "OPEN") & order.order_date.between("2018-03-01", "2018-09-30")
    )
    want_orders = sorted(
        (
            o
            for o in orders
            if o.customer_id == "CUSTOMER1"
            and o.status == "OPEN"
            and "2018-03-01" <= o.order_date <= "2018-09-30"
        ),
        key=lambda o: o.order_date,
    )
    assert [o.order_id for o in q] == [o.order_id for o in want_orders]

    # All open orders in a date range across customers: GSI2, one scatter over the N buckets,
    # merged in Data order.
    window = (order.status == "OPEN") & order.order_date.between("2018-01-01", "2018-06-30")
    scatter = order.by_bucket.scatter().range(window)
    assert len(scatter.compile()) == BUCKETS
    scattered = [o.order_id for o in scatter]
    expected = sorted(
        (o for o in orders if o.status == "OPEN" and "2018-01-01" <= o.order_date <= "2018-06-30"),
        key=lambda o: o.order_date,
    )
    assert sorted(scattered) == sorted(o.order_id for o in expected)
    assert [o.order_date for o in scatter] == [o.order_date for o in expected]

    # Account reps ranked by total in a sales period (GSI1 keyed on "2018-Q4"), highest first.
    ranked = [s.employee_id for s in sales.ranked.query(year=2018, quarter=4).reverse()]
    want_ranked = sorted(
        (s for s in totals if (s.year, s.quarter) == (2018, 4)),
        key=lambda s: (s.total, s.employee_id),
        reverse=True,
    )
    assert ranked == [s.employee_id for s in want_ranked]
    # Key texts as stored.
    item = totals[1].to_item()
    assert item["SK"] == {"S": "2018-Q4"}
    assert item["PK"] == {"S": "HR-EMPLOYEE0"}  # in the employee's partition
    assert employees[0].to_item()["PK"] == item["PK"]
    order_item = orders[0].to_item()
    assert order_item["PK"] == {"S": "OE-ORDER0"}
    assert order_item["GSI-Bucket"] == {"S": f"Bucket-{orders[0].bucket}"}

    # The employee's partition: the employee and every sales period, in one query.
    partition = table.partition(employee.primary, employee_id="5")  # one query
    in_partition = [e for e in (*employees, *totals, *edges, *private) if e.employee_id == "5"]
    want_items = sorted(in_partition, key=lambda e: e.to_item()["SK"]["S"])
    assert list(partition.items) == want_items  # "2018-Q3" < "2018-Q4" < the name
    assert [s.quarter for s in partition[sales]] == [3, 4]

    # Inventory of a product in one warehouse, and over every warehouse: one get each, the
    # quantities stored as top-level Warehouse<N> attributes.
    chosen = products[2]
    stored = product.get(product_id=chosen.product_id, name=chosen.name)
    assert stored is not None
    assert dict(stored.quantities) == dict(chosen.quantities)
    assert sum(stored.quantities.values()) == sum(chosen.quantities.values())
    raw = chosen.to_item()
    assert {k for k in raw if k.startswith("Warehouse")} == set(chosen.quantities)

    # Products low on stock in a warehouse: a filter on one dynamic attribute.
    low = product.scan().where(product.quantities["Warehouse2"] < 10)
    want_low = sorted(p.product_id for p in products if p.quantities.get("Warehouse2", 99) < 10)
    assert sorted(p.product_id for p in low) == want_low

    # Receiving stock: one update on that warehouse's attribute.
    stored.update(product.quantities["Warehouse4"].add(5))
    assert stored.quantities["Warehouse4"] == chosen.quantities.get("Warehouse4", 0) + 5
