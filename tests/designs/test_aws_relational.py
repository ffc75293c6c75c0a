"""The AWS Developer Guide's relational-modeling example (adjacency list), as published.

Sources. The adjacency-list version of "Example of modeling relational data in DynamoDB"
(``bp-modeling-nosql-B``, in the awsdocs ``amazon-dynamodb-developer-guide`` repository,
``doc_source/bp-modeling-nosql-B.md``; the live page at
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-modeling-nosql-B.html
now shows a multi-table redesign) gives, as text: the generic ``PK``/``SK``; the entities
(``HR-Employee``: EmployeeID / Employee Name, ``OE-Customer``: CustomerID / AccountRepID,
``OE-Order``: OrderID / CustomerID, ``OE-Product``: ProductID / Product Name, ...); GSI 1 as
the overloaded inverted index; GSI 2 write-sharded, its partition attribute "populated with a
random number in a range of 0-N" on every Order and OrderItem item, ``N = 15``, queried in
parallel with a state-and-date sort-key condition. Its item table, index tables and
access-pattern table are images. Their text as reproduced by two independent projects
(ericallam/dynamodb-spec-generator's relational-modeling spec, which also gives the index
definitions; and a transcription of the access-pattern table in an Architect "hroe" example)
agrees on: ``GSI1`` keyed on ``SK`` + ``Data``, ``GSI2`` on ``GSI-Bucket`` + ``Data``, and
the items

    PK            SK               Data                           other attributes
    HR-EMPLOYEE1  EMPLOYEE1        John Smith                     StartDate
    HR-EMPLOYEE1  v0               Principle Account Manager
    HR-EMPLOYEE1  HR-CONFIDENTIAL  2019-02-12                     Employee, Salary
    HR-EMPLOYEE1  WAREHOUSE1       2019-02-15                     Employee Name
    HR-EMPLOYEE1  2018-Q4          5000                           Employee Name
    OE-ORDER1     CUSTOMER1        OPEN#2019-01-18                GSI-Bucket = Bucket-6
    OE-ORDER1     PRODUCT1         OPEN#2019-01-18                GSI-Bucket = Bucket-4, UnitPrice
    OE-ORDER1     EMPLOYEE1        OPEN#2019-01-12                OrderTotal
    OE-PRODUCT1   PRODUCT1         Quickcrete Cement - 50lb bag   Warehouse1, Warehouse2, ...
    OE-CUSTOMER1  EMPLOYEE1        Ace Building Supplies          Address

and the 14 access patterns with their conditions: (1) employee by id: the table, PK =
``HR-EMPLOYEE1``; (2) employee by name: GSI-1; (3) an employee's current job: the table, PK =
``HR-EMPLOYEE1``, SK begins with ``v0``; (4) a customer's orders in a date range: GSI-1, PK =
``CUSTOMER1``, SK = status-date, once per status; (5) OPEN orders in a date range across all
customers: GSI-2, every bucket in parallel, SK between ``OPEN#date1`` and ``OPEN#date2``;
(6) employees hired recently: GSI-1, PK = ``HR-CONFIDENTIAL``, SK > date; (7) employees of a
warehouse: GSI-1, PK = ``WAREHOUSE1``; (8) order items of a product with its warehouse
inventories: GSI-1, PK = ``PRODUCT1``; (9) customers by account rep: GSI-1, PK = the rep
(``EMPLOYEE1``); (10) orders by account rep and date: GSI-1, PK = the rep, SK = status-date,
per status; (11) employees with a job title: GSI-1, PK = ``v0``, SK = the title; (12) inventory
of a product in one warehouse and (13) in total: the table, PK = ``OE-PRODUCT1``, SK =
``PRODUCT1``; (14) account reps ranked by order total in a sales period: GSI-1, PK =
``2018-Q4``, descending. The published list has no region, country or location pattern (those
entities are listed but have no items in the published table), so there is none here.

Here. Every item's keys (``PK``, ``SK``, ``Data``, ``GSI-Bucket``) and named attributes are the
published ones byte for byte (checked on the published rows, whole), with no type attribute: the
table classifies items by key prefix (``store_type=False``), as an adopted table does. The
bucket is a plain number attribute the seeding code picks at random in ``0..14``, as the
design says, and pattern 5 reads the 15 buckets with one scatter
(``scatter(bucket=range(15))``). Each pattern is one request (a get, one query, one scatter),
or one query per status where the design says "for each StatusCode", and its result is checked
against a plain Python evaluation over the seeded rows.

Deviations, and why. (a) Pattern 2: the published condition puts the employee name in GSI-1's
partition key, but the published employee item's ``SK`` (GSI-1's partition) is ``EMPLOYEE1``,
with the name in ``Data``; as published, the name can be matched only inside an employee's own
GSI-1 partition, which is what the query here does (``Data`` begins with the name), the
reading the spec-generator reproduction takes too. (b) Pattern 14: ``Data`` is a string
attribute and the published totals are unpadded (``5000``), so they rank numerically only
when of equal width; the seeded totals have four digits. A design needing any width would
zero-pad (``{total:08d}``), changing the published text.

Stored as published: the table is declared with ``store_key_fields=False``, so a key field
(``employee_id``, ``status``, ``bucket``, ...) is not stored as an attribute of its own beside
the keys that hold it; each item written is the published row exactly (the whole item is
checked), and every read restores those fields by parsing the keys.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import DynamicAttributes, Entity, Index, Key, Table, Template

BUCKETS = 15  # "N = 15": GSI-Bucket is Bucket-0 .. Bucket-14
STATUSES = ("OPEN", "PENDING", "FULFILLED")


def _published_type(item: Mapping[str, Any]) -> str | None:
    """The published items carry no type attribute: tell them apart by their keys."""
    pk, sk = item["PK"]["S"], item["SK"]["S"]
    if pk.startswith("HR-EMPLOYEE"):
        if sk.startswith("EMPLOYEE"):
            return "HR-Employee"
        if sk == "HR-CONFIDENTIAL":
            return "HR-Confidential"
        if sk.startswith("WAREHOUSE"):
            return "HR-EmployeeWarehouse"
        if sk.startswith("v"):
            return "HR-Job"
        return "HR-SalesPeriod" if sk[:1].isdigit() else None
    if pk.startswith("OE-ORDER"):
        for prefix, name in (
            ("CUSTOMER", "OE-Order"),
            ("PRODUCT", "OE-OrderItem"),
            ("EMPLOYEE", "OE-OrderRep"),
        ):
            if sk.startswith(prefix):
                return name
        return None
    if pk.startswith("OE-PRODUCT"):
        return "OE-Product"
    return "OE-Customer" if pk.startswith("OE-CUSTOMER") else None


def _design() -> tuple[Table, dict[str, Any]]:
    table = Table(
        "aws-relational",
        indexes=[Index("GSI1", pk="SK", sk="Data"), Index("GSI2", pk="GSI-Bucket", sk="Data")],
        classify=_published_type,
        store_type=False,
        store_key_fields=False,  # the fields live only inside PK, SK, Data and GSI-Bucket
    )

    class Employee(Entity, table=table, type_name="HR-Employee"):
        employee_id = UnicodeAttribute()
        name = UnicodeAttribute()
        start_date = UnicodeAttribute(attr_name="StartDate", null=True)
        primary = Key(pk="HR-EMPLOYEE{employee_id}", sk="EMPLOYEE{employee_id}")
        by_id_and_name = Key(index="GSI1", sk="{name}")

    class Job(Entity, table=table, type_name="HR-Job"):
        employee_id = UnicodeAttribute()
        version = UnicodeAttribute()  # "0": the current job (SK v0), "1", "2", ...: earlier ones
        title = UnicodeAttribute()
        primary = Key(pk="HR-EMPLOYEE{employee_id}", sk="v{version}", assume_disjoint=True)
        by_title = Key(index="GSI1", sk="{title}")

    class Confidential(Entity, table=table, type_name="HR-Confidential"):
        employee_id = UnicodeAttribute()
        hire_date = UnicodeAttribute()
        employee = UnicodeAttribute(attr_name="Employee")
        salary = NumberAttribute(attr_name="Salary")
        primary = Key(pk="HR-EMPLOYEE{employee_id}", sk="HR-CONFIDENTIAL", assume_disjoint=True)
        hired = Key(index="GSI1", sk="{hire_date}")

    class WorksIn(Entity, table=table, type_name="HR-EmployeeWarehouse"):
        employee_id = UnicodeAttribute()
        warehouse_id = UnicodeAttribute()
        since = UnicodeAttribute()
        employee_name = UnicodeAttribute(attr_name="Employee Name")
        primary = Key(
            pk="HR-EMPLOYEE{employee_id}", sk="WAREHOUSE{warehouse_id}", assume_disjoint=True
        )
        by_warehouse = Key(index="GSI1", sk="{since}")

    class SalesPeriod(Entity, table=table, type_name="HR-SalesPeriod"):
        employee_id = UnicodeAttribute()
        year = NumberAttribute()
        quarter = NumberAttribute()
        total = NumberAttribute()
        employee_name = UnicodeAttribute(attr_name="Employee Name")
        primary = Key(
            pk="HR-EMPLOYEE{employee_id}",
            sk=Template("{year:d}-Q{quarter:d}", delimiter=None),
            assume_disjoint=True,
        )
        ranked = Key(index="GSI1", sk="{total:d}")

    class Order(Entity, table=table, type_name="OE-Order"):
        order_id = UnicodeAttribute()
        customer_id = UnicodeAttribute()
        status = UnicodeAttribute()
        order_date = UnicodeAttribute()
        bucket = NumberAttribute()  # written by the application: random 0..N-1
        primary = Key(pk="OE-ORDER{order_id}", sk="CUSTOMER{customer_id}")
        by_customer = Key(index="GSI1", sk="{status}#{order_date}")
        by_bucket = Key(index="GSI2", pk="Bucket-{bucket:d}", sk="{status}#{order_date}")

    class OrderItem(Entity, table=table, type_name="OE-OrderItem"):
        order_id = UnicodeAttribute()
        product_id = UnicodeAttribute()
        status = UnicodeAttribute()
        order_date = UnicodeAttribute()
        bucket = NumberAttribute()
        unit_price = UnicodeAttribute(attr_name="UnitPrice")
        primary = Key(pk="OE-ORDER{order_id}", sk="PRODUCT{product_id}")
        by_product = Key(index="GSI1", sk="{status}#{order_date}")
        by_bucket = Key(index="GSI2", pk="Bucket-{bucket:d}", sk="{status}#{order_date}")

    class OrderRep(Entity, table=table, type_name="OE-OrderRep"):
        order_id = UnicodeAttribute()
        employee_id = UnicodeAttribute()
        status = UnicodeAttribute()
        order_date = UnicodeAttribute()
        order_total = NumberAttribute(attr_name="OrderTotal")
        primary = Key(pk="OE-ORDER{order_id}", sk="EMPLOYEE{employee_id}")
        by_rep = Key(index="GSI1", sk="{status}#{order_date}")

    class Product(Entity, table=table, type_name="OE-Product"):
        product_id = UnicodeAttribute()
        name = UnicodeAttribute()
        quantities = DynamicAttributes(prefix="Warehouse", of=NumberAttribute)
        primary = Key(pk="OE-PRODUCT{product_id}", sk="PRODUCT{product_id}")
        by_product = Key(index="GSI1", sk="{name}")

    class Customer(Entity, table=table, type_name="OE-Customer"):
        customer_id = UnicodeAttribute()
        rep_id = UnicodeAttribute()
        name = UnicodeAttribute()
        address = UnicodeAttribute(attr_name="Address")
        primary = Key(pk="OE-CUSTOMER{customer_id}", sk="EMPLOYEE{rep_id}")
        by_rep = Key(index="GSI1", sk="{name}")

    entities = {
        cls.__name__: cls
        for cls in (
            Employee,
            Job,
            Confidential,
            WorksIn,
            SalesPeriod,
            Order,
            OrderItem,
            OrderRep,
            Product,
            Customer,
        )
    }
    return table, entities


def _typed(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in row.items()}


def test_the_published_rows_are_stored_byte_for_byte() -> None:
    _, e = _design()
    rows: list[tuple[Entity, dict[str, Any]]] = [
        (
            e["Employee"](employee_id="1", name="John Smith", start_date="01-12-2019"),
            {"PK": "HR-EMPLOYEE1", "SK": "EMPLOYEE1", "Data": "John Smith"},
        ),
        (
            e["Job"](employee_id="1", version="0", title="Principle Account Manager"),
            {"PK": "HR-EMPLOYEE1", "SK": "v0", "Data": "Principle Account Manager"},
        ),
        (
            e["Confidential"](
                employee_id="1", hire_date="2019-02-12", employee="John Smith", salary=50000
            ),
            {"PK": "HR-EMPLOYEE1", "SK": "HR-CONFIDENTIAL", "Data": "2019-02-12"},
        ),
        (
            e["WorksIn"](
                employee_id="1", warehouse_id="1", since="2019-02-15", employee_name="John Smith"
            ),
            {"PK": "HR-EMPLOYEE1", "SK": "WAREHOUSE1", "Data": "2019-02-15"},
        ),
        (
            e["SalesPeriod"](
                employee_id="1", year=2018, quarter=4, total=5000, employee_name="John Smith"
            ),
            {"PK": "HR-EMPLOYEE1", "SK": "2018-Q4", "Data": "5000"},
        ),
        (
            e["Order"](
                order_id="1", customer_id="1", status="OPEN", order_date="2019-01-18", bucket=6
            ),
            {"PK": "OE-ORDER1", "SK": "CUSTOMER1", "Data": "OPEN#2019-01-18"},
        ),
        (
            e["OrderItem"](
                order_id="1",
                product_id="1",
                status="OPEN",
                order_date="2019-01-18",
                bucket=4,
                unit_price="$89.99",
            ),
            {"PK": "OE-ORDER1", "SK": "PRODUCT1", "Data": "OPEN#2019-01-18"},
        ),
        (
            e["OrderRep"](
                order_id="1",
                employee_id="1",
                status="OPEN",
                order_date="2019-01-12",
                order_total=2500,
            ),
            {"PK": "OE-ORDER1", "SK": "EMPLOYEE1", "Data": "OPEN#2019-01-12"},
        ),
        (
            e["Product"](
                product_id="1",
                name="Quickcrete Cement - 50lb bag",
                quantities={"Warehouse1": 46, "Warehouse2": 12},
            ),
            {"PK": "OE-PRODUCT1", "SK": "PRODUCT1", "Data": "Quickcrete Cement - 50lb bag"},
        ),
        (
            e["Customer"](
                customer_id="1", rep_id="1", name="Ace Building Supplies", address="1600 Penn"
            ),
            {"PK": "OE-CUSTOMER1", "SK": "EMPLOYEE1", "Data": "Ace Building Supplies"},
        ),
    ]
    named = {
        "HR-Employee": {"StartDate": "01-12-2019"},
        "HR-Confidential": {"Employee": "John Smith", "Salary": 50000},
        "HR-EmployeeWarehouse": {"Employee Name": "John Smith"},
        "HR-SalesPeriod": {"Employee Name": "John Smith"},
        "OE-Order": {"GSI-Bucket": "Bucket-6"},
        "OE-OrderItem": {"GSI-Bucket": "Bucket-4", "UnitPrice": "$89.99"},
        "OE-OrderRep": {"OrderTotal": 2500},
        "OE-Product": {"Warehouse1": 46, "Warehouse2": 12},
        "OE-Customer": {"Address": "1600 Penn"},
    }
    for entity, keys in rows:
        item = entity.to_item()
        published = _typed({**keys, **named.get(type(entity).__type_name__, {})})
        # The whole item, byte for byte: the published attributes and nothing else (no type
        # attribute, no key field beside the keys that hold it).
        assert item == published
        assert _published_type(item) == type(entity).__type_name__
        # ... and it reads back whole, every field restored from the keys.
        assert type(entity).from_item(item) == entity


def _seed(e: dict[str, Any]) -> dict[str, list[Any]]:
    rng = random.Random(14)
    names = ["John Smith", "Ana Lopez", "Wei Chen", "Sam Jones", "John Doe"]
    titles = ["Principle Account Manager", "Account Manager", "Warehouse Clerk"]
    staff = [str(i) for i in range(1, 13)]
    employees = [e["Employee"](employee_id=i, name=rng.choice(names)) for i in staff]
    name_of = {x.employee_id: x.name for x in employees}
    jobs = [
        e["Job"](employee_id=i, version=str(v), title=rng.choice(titles))
        for i in staff
        for v in range(rng.randrange(1, 4))  # v0 current, v1.. earlier jobs
    ]
    private = [
        e["Confidential"](
            employee_id=i,
            hire_date=f"201{rng.randrange(7, 10)}-{rng.randrange(1, 13):02d}-1{rng.randrange(10)}",
            employee=name_of[i],
            salary=rng.randrange(30000, 90000),
        )
        for i in staff
    ]
    works = [
        e["WorksIn"](
            employee_id=i,
            warehouse_id=str(rng.randrange(1, 4)),
            since=f"2019-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
            employee_name=name_of[i],
        )
        for i in staff
    ]
    periods = [
        e["SalesPeriod"](
            employee_id=i,
            year=2018,
            quarter=q,
            total=total,  # four digits, all different: see deviation (b)
            employee_name=name_of[i],
        )
        for (i, q), total in zip(
            [(i, q) for i in staff for q in (3, 4)],
            rng.sample(range(1000, 10000), 2 * len(staff)),
            strict=True,
        )
    ]
    reps = staff[:5]
    customers = [
        e["Customer"](
            customer_id=str(c), rep_id=rng.choice(reps), name=f"Customer {c}", address=f"{c} Main"
        )
        for c in range(1, 9)
    ]
    products = [
        e["Product"](
            product_id=str(p),
            name=f"Product {p}",
            quantities={
                f"Warehouse{w}": rng.randrange(60) for w in range(1, 5) if rng.random() < 0.8
            },
        )
        for p in range(1, 7)
    ]
    orders, items, order_reps = [], [], []
    for o in range(1, 61):
        status = rng.choice(STATUSES)
        date = f"2019-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        customer = rng.choice(customers)
        common = {"order_id": str(o), "status": status, "order_date": date}
        orders.append(
            e["Order"](customer_id=customer.customer_id, bucket=rng.randrange(BUCKETS), **common)
        )
        for p in rng.sample(products, rng.randrange(1, 4)):
            items.append(
                e["OrderItem"](
                    product_id=p.product_id,
                    bucket=rng.randrange(BUCKETS),
                    unit_price=f"${rng.randrange(1, 100)}.99",
                    **common,
                )
            )
        order_reps.append(
            e["OrderRep"](
                employee_id=customer.rep_id, order_total=rng.randrange(100, 5000), **common
            )
        )
    return {
        "employees": employees,
        "jobs": jobs,
        "private": private,
        "works": works,
        "periods": periods,
        "customers": customers,
        "products": products,
        "orders": orders,
        "items": items,
        "order_reps": order_reps,
    }


def _condition(request: Mapping[str, Any]) -> str:
    """The request's key condition with names and values written out: ``SK = "v0"``."""
    text = request["KeyConditionExpression"]
    values = request.get("ExpressionAttributeValues", {})
    for placeholder in sorted(values, key=len, reverse=True):
        value = next(iter(values[placeholder].values()))
        text = text.replace(placeholder, f'"{value}"')
    for placeholder, name in request["ExpressionAttributeNames"].items():
        text = text.replace(placeholder, name)
    index = request.get("IndexName", "table")
    return f"{index}: {text}" + ("" if request.get("ScanIndexForward", True) else " (descending)")


def test_aws_relational_access_patterns(table_factory: Any) -> None:
    table, e = _design()
    table_factory(table)
    seeded = _seed(e)
    with table.batch_write() as batch:
        for group in seeded.values():
            for entity in group:
                batch.put(entity)
    # Stored as published: each item on the server is exactly its published form.
    raw = table.call("Scan", {"TableName": table.name}, idempotent=True)["Items"]
    written = [x.to_item() for group in seeded.values() for x in group]
    assert {(i["PK"]["S"], i["SK"]["S"]): i for i in raw} == {
        (i["PK"]["S"], i["SK"]["S"]): i for i in written
    }
    assert not any("employee_id" in i or "status" in i or "bucket" in i for i in raw)
    employees, jobs, private = seeded["employees"], seeded["jobs"], seeded["private"]
    works, periods, customers = seeded["works"], seeded["periods"], seeded["customers"]
    products, orders, items = seeded["products"], seeded["orders"], seeded["items"]
    order_reps = seeded["order_reps"]
    employee, job, confidential = e["Employee"], e["Job"], e["Confidential"]

    # 1. Employee details by employee id: the employee's partition of the table, one query.
    whole = table.partition_query(employee.primary, employee_id="3")
    assert _condition(whole.compile()) == 'table: PK = "HR-EMPLOYEE3"'
    details = table.partition(employee.primary, employee_id="3")
    mine = [x for x in (*employees, *jobs, *private, *works, *periods) if x.employee_id == "3"]
    assert [x.to_item()["SK"] for x in details.items] == sorted(
        (x.to_item()["SK"] for x in mine), key=lambda v: v["S"]
    )
    assert {x.to_item()["SK"]["S"]: x for x in details.items} == {
        x.to_item()["SK"]["S"]: x for x in mine
    }
    assert details.first(employee) == employees[2]
    assert employee.get(employee_id="3") == employees[2]  # the entity item alone: one get

    # 2. Employee by name (deviation (a)): in the employee's GSI1 partition, Data = the name.
    target = employees[4]
    by_name = employee.by_id_and_name.query(employee_id=target.employee_id).range(
        employee.name == target.name
    )
    assert _condition(by_name.compile()) == f'GSI1: SK = "EMPLOYEE5" AND Data = "{target.name}"'
    assert by_name.all() == [target]

    # 3. An employee's current job: PK = HR-EMPLOYEE3, SK begins with "v0".
    current = job.query(employee_id="3").range(job.version.startswith("0"))
    assert _condition(current.compile()) == 'table: PK = "HR-EMPLOYEE3" AND begins_with(SK, "v0")'
    assert current.all() == [j for j in jobs if j.employee_id == "3" and j.version == "0"]

    # 4. A customer's orders in a date range: GSI1 PK = CUSTOMER<n>, Data between
    #    "<STATUS>#date1" and "<STATUS>#date2", once per status.
    order = e["Order"]

    def statuses_of(customer: Any) -> int:
        return len(
            {
                o.status
                for o in orders
                if o.customer_id == customer.customer_id
                and "2019-03-01" <= o.order_date <= "2019-09-30"
            }
        )

    customer_id = max(customers, key=statuses_of).customer_id
    found: list[tuple[str, str, str]] = []
    for status in STATUSES:
        q = order.by_customer.query(customer_id=customer_id).range(
            (order.status == status) & order.order_date.between("2019-03-01", "2019-09-30")
        )
        assert _condition(q.compile()) == (
            f'GSI1: SK = "CUSTOMER{customer_id}" AND '
            f'Data BETWEEN "{status}#2019-03-01" AND "{status}#2019-09-30"'
        )
        found += [(o.status, o.order_date, o.order_id) for o in q]
    want = [
        (o.status, o.order_date, o.order_id)
        for status in STATUSES
        for o in orders
        if o.customer_id == customer_id
        and o.status == status
        and "2019-03-01" <= o.order_date <= "2019-09-30"
    ]
    in_order = sorted(want, key=lambda w: (STATUSES.index(w[0]), w[1]))
    assert [f[:2] for f in found] == [w[:2] for w in in_order]  # per status, by date
    assert sorted(found) == sorted(want)
    assert len({w[0] for w in want}) > 1

    # 5. Every OPEN order in a date range across all customers: GSI2, the 15 buckets in
    #    parallel (one scatter), Data between "OPEN#date1" and "OPEN#date2", merged in order.
    window = (order.status == "OPEN") & order.order_date.between("2019-01-01", "2019-06-30")
    scatter = order.by_bucket.scatter(bucket=range(BUCKETS)).range(window)
    requests = scatter.compile()
    assert len(requests) == BUCKETS
    assert {r["IndexName"] for r in requests} == {"GSI2"}
    assert [_condition(r) for r in requests] == [
        f'GSI2: GSI-Bucket = "Bucket-{n}" AND Data BETWEEN "OPEN#2019-01-01" AND "OPEN#2019-06-30"'
        for n in range(BUCKETS)
    ]
    open_orders = [
        o for o in orders if o.status == "OPEN" and "2019-01-01" <= o.order_date <= "2019-06-30"
    ]
    got = scatter.all()
    assert sorted(o.order_id for o in got) == sorted(o.order_id for o in open_orders)
    assert [o.order_date for o in got] == sorted(o.order_date for o in open_orders)
    # The order items share the buckets; an all-types scatter reads them too.
    everything = table.scatter(order.by_bucket, bucket=range(BUCKETS), range=window)
    assert sorted((type(x).__name__, x.order_id) for x in everything) == sorted(
        [(type(x).__name__, x.order_id) for x in open_orders]
        + [
            ("OrderItem", i.order_id)
            for i in items
            if i.status == "OPEN" and "2019-01-01" <= i.order_date <= "2019-06-30"
        ]
    )

    # 6. Employees hired recently: GSI1 PK = HR-CONFIDENTIAL, Data > date.
    recent = confidential.hired.query().range(confidential.hire_date > "2018-06-30")
    assert _condition(recent.compile()) == 'GSI1: SK = "HR-CONFIDENTIAL" AND Data > "2018-06-30"'
    hired = [(c.hire_date, c.employee_id) for c in recent]
    assert [d for d, _ in hired] == sorted(d for d, _ in hired)  # in Data order
    assert sorted(hired) == sorted(
        (c.hire_date, c.employee_id) for c in private if c.hire_date > "2018-06-30"
    )

    # 7. Employees of a warehouse: GSI1 PK = WAREHOUSE2.
    works_in = e["WorksIn"]
    in_two = works_in.by_warehouse.query(warehouse_id="2")
    assert _condition(in_two.compile()) == 'GSI1: SK = "WAREHOUSE2"'
    assert sorted(w.employee_id for w in in_two) == sorted(
        w.employee_id for w in works if w.warehouse_id == "2"
    )

    # 8. A product's order items, with its warehouse inventories: GSI1 PK = PRODUCT3, one
    #    query over every type in that partition of the index.
    product = e["Product"]
    assert _condition(table.partition_query(product.by_product, product_id="3").compile()) == (
        'GSI1: SK = "PRODUCT3"'
    )
    on_order = table.partition(product.by_product, product_id="3")
    assert sorted(i.order_id for i in on_order[e["OrderItem"]]) == sorted(
        i.order_id for i in items if i.product_id == "3"
    )
    assert on_order.first(product) == products[2]
    assert dict(on_order.first(product).quantities) == dict(products[2].quantities)

    # 9. Customers by account rep: GSI1 PK = EMPLOYEE<rep>.
    customer = e["Customer"]
    rep = customers[0].rep_id
    assert _condition(customer.by_rep.query(rep_id=rep).compile()) == f'GSI1: SK = "EMPLOYEE{rep}"'
    assert [c.customer_id for c in customer.by_rep.query(rep_id=rep)] == [
        c.customer_id for c in sorted(customers, key=lambda c: c.name) if c.rep_id == rep
    ]

    # 10. Orders by account rep and date: GSI1 PK = EMPLOYEE<rep>, Data = "<STATUS>#<date>",
    #     once per status.
    order_rep = e["OrderRep"]
    day = next(r.order_date for r in order_reps if r.employee_id == rep)
    by_rep: list[str] = []
    for status in STATUSES:
        q = order_rep.by_rep.query(employee_id=rep).range(
            (order_rep.status == status) & (order_rep.order_date == day)
        )
        assert _condition(q.compile()) == f'GSI1: SK = "EMPLOYEE{rep}" AND Data = "{status}#{day}"'
        by_rep += sorted(r.order_id for r in q)
    assert by_rep == [
        r.order_id
        for status in STATUSES
        for r in sorted(order_reps, key=lambda r: r.order_id)
        if r.employee_id == rep and r.status == status and r.order_date == day
    ]
    assert by_rep  # the day is one of the rep's order days

    # 11. Employees with a job title: GSI1 PK = v0, Data = the title.
    title = "Account Manager"
    holders = job.by_title.query(version="0").range(job.title == title)
    assert _condition(holders.compile()) == f'GSI1: SK = "v0" AND Data = "{title}"'
    assert sorted(j.employee_id for j in holders) == sorted(
        j.employee_id for j in jobs if j.version == "0" and j.title == title
    )

    # 12, 13. Inventory of a product in one warehouse and in total: one get of
    #     PK = OE-PRODUCT4, SK = PRODUCT4, its Warehouse<N> attributes.
    chosen = products[3]
    stored = product.get(product_id="4")
    assert stored is not None
    assert stored.quantities.get("Warehouse2") == chosen.quantities.get("Warehouse2")
    assert sum(stored.quantities.values()) == sum(chosen.quantities.values())

    # 14. Account reps ranked by order total in a sales period: GSI1 PK = 2018-Q4, descending.
    sales = e["SalesPeriod"]
    ranked = sales.ranked.query(year=2018, quarter=4).reverse()
    assert _condition(ranked.compile()) == 'GSI1: SK = "2018-Q4" (descending)'
    assert [s.employee_id for s in ranked] == [
        s.employee_id
        for s in sorted(periods, key=lambda s: (s.total, s.employee_id), reverse=True)
        if s.quarter == 4
    ]

    # Receiving stock is one update of that warehouse's attribute.
    stored.update(product.quantities["Warehouse4"].add(5))
    assert stored.quantities["Warehouse4"] == chosen.quantities.get("Warehouse4", 0) + 5
