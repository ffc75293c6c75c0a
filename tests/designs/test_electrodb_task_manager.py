"""ElectroDB's task-manager example (employees, tasks, offices in service ``taskapp``), declared
exactly as ElectroDB stores it: its key texts (``$taskapp#employee_jlowe`` /
``$employee_1``; collection sort keys ``$assignments#task_1#project_...``), its
``__edb_e__`` discriminator and ``__edb_v__`` version attribute, its index names.

The data is seeded raw, in ElectroDB's stored format, built by an independent function
(:func:`electro`) from ElectroDB's key rules, so that each access pattern, run as one dynaorm
query, is checked against a plain Python evaluation over the seeded items; and an item read,
changed and saved back is byte-identical to what ElectroDB stored, apart from the change.
ElectroDB lowercases keys by default: every key here is ``casing="lower"``, and the seed
has mixed-case values ("Junior Software Engineer", "Mobile Branch") kept as given in the
attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import Entity, Index, Key, Table

Factory = Callable[[Table], Table]

SERVICE = "taskapp"
taskapp = Table(
    "taskapp",
    pk="pk",
    sk="sk",
    indexes=[
        Index(f"gsi{n}pk-gsi{n}sk-index", pk=f"gsi{n}pk", sk=f"gsi{n}sk") for n in range(1, 6)
    ],
    type_attribute="__edb_e__",  # ElectroDB's discriminator, with its entity names as values
    preserve_items=True,  # undeclared attributes (Task's "comments") are kept on save
)


class Employee(Entity, table=taskapp, type_name="employee"):
    employee = UnicodeAttribute()
    first_name = UnicodeAttribute(attr_name="firstName")
    last_name = UnicodeAttribute(attr_name="lastName")
    office = UnicodeAttribute()
    title = UnicodeAttribute()
    team = UnicodeAttribute()
    salary = UnicodeAttribute()
    manager = UnicodeAttribute(null=True)
    date_hired = UnicodeAttribute(attr_name="dateHired")
    birthday = UnicodeAttribute(null=True)
    edb_version = UnicodeAttribute(attr_name="__edb_v__", default="1")

    primary = Key(pk="$taskapp#employee_{employee}", sk="$employee_1", casing="lower")
    coworkers = Key(
        index="gsi1pk-gsi1sk-index",
        pk="$taskapp#office_{office}",
        sk="$workplaces#employee_1#team_{team}#title_{title}#employee_{employee}",
        casing="lower",
    )
    teams = Key(
        index="gsi2pk-gsi2sk-index",
        pk="$taskapp#team_{team}",
        sk="$employee_1#datehired_{date_hired}#title_{title}",
        casing="lower",
    )
    lookup = Key(
        index="gsi3pk-gsi3sk-index",
        pk="$taskapp#employee_{employee}",
        sk="$assignments#employee_1",
        casing="lower",
    )
    roles = Key(
        index="gsi4pk-gsi4sk-index",
        pk="$taskapp#title_{title}",
        sk="$employee_1#salary_{salary}",
        casing="lower",
    )
    direct_reports = Key(
        index="gsi5pk-gsi5sk-index",
        pk="$taskapp#manager_{manager}",
        sk="$employee_1#team_{team}#office_{office}",
        casing="lower",
    )


class Task(Entity, table=taskapp, type_name="task"):
    task = UnicodeAttribute()
    project = UnicodeAttribute()
    employee = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")
    points = NumberAttribute()
    edb_version = UnicodeAttribute(attr_name="__edb_v__", default="1")

    primary = Key(
        pk="$taskapp#task_{task}",
        sk="$task_1#project_{project}#employee_{employee}",
        casing="lower",
    )
    by_project = Key(
        index="gsi1pk-gsi1sk-index",
        pk="$taskapp#project_{project}",
        sk="$task_1#employee_{employee}#status_{status}",
        casing="lower",
    )
    assigned = Key(
        index="gsi3pk-gsi3sk-index",
        pk="$taskapp#employee_{employee}",
        sk="$assignments#task_1#project_{project}#status_{status}",
        casing="lower",
    )
    statuses = Key(
        index="gsi4pk-gsi4sk-index",
        pk="$taskapp#status_{status}",
        sk="$task_1#project_{project}#employee_{employee}",
        casing="lower",
    )


class Office(Entity, table=taskapp, type_name="office"):
    office = UnicodeAttribute()
    country = UnicodeAttribute()
    state = UnicodeAttribute()
    city = UnicodeAttribute()
    zip = UnicodeAttribute()
    address = UnicodeAttribute()
    edb_version = UnicodeAttribute(attr_name="__edb_v__", default="1")

    primary = Key(
        pk="$taskapp#country_{country}#state_{state}",
        sk="$office_1#city_{city}#zip_{zip}#office_{office}",
        casing="lower",
    )
    location = Key(
        index="gsi1pk-gsi1sk-index",
        pk="$taskapp#office_{office}",
        sk="$workplaces#office_1",
        casing="lower",
    )


# -- ElectroDB's stored format, built independently of dynaorm ------------------------------

# entity -> index -> (pk attribute, sk attribute, collection, pk composite, sk composite)
INDEXES: dict[str, list[tuple[str, str, str | None, list[str], list[str]]]] = {
    "employee": [
        ("pk", "sk", None, ["employee"], []),
        ("gsi1pk", "gsi1sk", "workplaces", ["office"], ["team", "title", "employee"]),
        ("gsi2pk", "gsi2sk", None, ["team"], ["dateHired", "title"]),
        ("gsi3pk", "gsi3sk", "assignments", ["employee"], []),
        ("gsi4pk", "gsi4sk", None, ["title"], ["salary"]),
        ("gsi5pk", "gsi5sk", None, ["manager"], ["team", "office"]),
    ],
    "task": [
        ("pk", "sk", None, ["task"], ["project", "employee"]),
        ("gsi1pk", "gsi1sk", None, ["project"], ["employee", "status"]),
        ("gsi3pk", "gsi3sk", "assignments", ["employee"], ["project", "status"]),
        ("gsi4pk", "gsi4sk", None, ["status"], ["project", "employee"]),
    ],
    "office": [
        ("pk", "sk", None, ["country", "state"], ["city", "zip", "office"]),
        ("gsi1pk", "gsi1sk", "workplaces", ["office"], []),
    ],
}


def electro(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """The item ElectroDB stores for ``values`` (typed), by its rules: partition keys
    ``$service#attr_value...``, sort keys ``[$collection#]$entity_version#attr_value...``
    (the ``$`` before the entity only without a collection), lowercased, and the
    ``__edb_e__``/``__edb_v__`` attributes."""
    item: dict[str, Any] = {
        k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in values.items()
    }
    for pk_attr, sk_attr, collection, pk_fields, sk_fields in INDEXES[entity]:
        if any(f not in values for f in pk_fields + sk_fields):
            continue  # ElectroDB leaves an index key out when a composite is missing
        pk = "$" + SERVICE + "".join(f"#{f}_{values[f]}" for f in pk_fields)
        head = f"${collection}#{entity}_1" if collection else f"${entity}_1"
        sk = head + "".join(f"#{f}_{values[f]}" for f in sk_fields)
        item[pk_attr] = {"S": pk.lower()}
        item[sk_attr] = {"S": sk.lower()}
    item["__edb_e__"] = {"S": entity}
    item["__edb_v__"] = {"S": "1"}
    return item


TODAY = date.today()


def _ago(years: float) -> str:
    return (TODAY - timedelta(days=round(365.25 * years))).isoformat()


EMPLOYEES = [
    {
        "employee": "tyler.walch",
        "firstName": "tyler",
        "lastName": "walch",
        "office": "portland",
        "title": "senior software engineer",
        "team": "development",
        "salary": "150000",
        "dateHired": _ago(6),
        "birthday": "1990-01-01",
    },
    {
        "employee": "jlowe",
        "firstName": "jack",
        "lastName": "lowe",
        "office": "portland",
        "title": "Junior Software Engineer",
        "team": "development",
        "salary": "105000",
        "manager": "tyler.walch",
        "dateHired": _ago(1),
    },
    {
        "employee": "mwang",
        "firstName": "mei",
        "lastName": "wang",
        "office": "portland",
        "title": "Junior Software Engineer",
        "team": "development",
        "salary": "095000",
        "manager": "tyler.walch",
        "dateHired": _ago(3),
    },
    {
        "employee": "rkim",
        "firstName": "ria",
        "lastName": "kim",
        "office": "Mobile Branch",
        "title": "Junior Software Engineer",
        "team": "marketing",
        "salary": "120000",
        "dateHired": _ago(2.5),
    },
    {
        "employee": "dpurdy",
        "firstName": "dan",
        "lastName": "purdy",
        "office": "Mobile Branch",
        "title": "marketing lead",
        "team": "marketing",
        "salary": "130000",
        "dateHired": _ago(4.5),
    },
    {
        "employee": "asmith",
        "firstName": "ann",
        "lastName": "smith",
        "office": "portland",
        "title": "analyst",
        "team": "marketing",
        "salary": "90000",
        "dateHired": _ago(7),
    },
]
TASKS = [
    {
        "task": "t1",
        "project": "135-53",
        "employee": "tyler.walch",
        "status": "open",
        "points": 8,
        "description": "write the report",
    },
    {"task": "t2", "project": "135-53", "employee": "jlowe", "status": "open", "points": 13},
    {"task": "t3", "project": "135-53", "employee": "jlowe", "status": "open", "points": 21},
    {"task": "t4", "project": "135-53", "employee": "tyler.walch", "status": "closed", "points": 3},
    {"task": "t5", "project": "200-10", "employee": "tyler.walch", "status": "open", "points": 5},
    {"task": "t6", "project": "135-53", "employee": "rkim", "status": "in-progress", "points": 2},
]
OFFICES = [
    {
        "office": "portland",
        "country": "united states of america",
        "state": "oregon",
        "city": "portland",
        "zip": "97201",
        "address": "1 main st",
    },
    {
        "office": "Mobile Branch",
        "country": "united states of america",
        "state": "oregon",
        "city": "power",
        "zip": "34706",
        "address": "2 side st",
    },
]


@pytest.fixture
def table(table_factory: Factory) -> Iterator[Table]:
    made = table_factory(taskapp)
    for entity, rows in (("employee", EMPLOYEES), ("task", TASKS), ("office", OFFICES)):
        for row in rows:
            made.call(
                "PutItem", {"TableName": made.name, "Item": electro(entity, row)}, idempotent=True
            )
    return made


def _names(results: Any) -> list[tuple[str, str]]:
    """(type, identifier) of each result: every entity here is named by its type's field."""
    return sorted((r.__type_name__, getattr(r, r.__type_name__)) for r in results)


def test_dynaorm_builds_electrodb_items_byte_for_byte() -> None:
    for row in EMPLOYEES:
        made = Employee(**_python(Employee, row))
        assert made.to_item() == electro("employee", row)
    for row in TASKS:
        assert Task(**_python(Task, row)).to_item() == electro("task", row)
    for row in OFFICES:
        assert Office(**_python(Office, row)).to_item() == electro("office", row)


def _python(cls: type[Entity], row: dict[str, Any]) -> dict[str, Any]:
    by_stored = {a.attr_name: name for name, a in cls.get_attributes().items()}
    return {by_stored[k]: v for k, v in row.items()}


def test_workplaces_collection(table: Table) -> None:
    found = table.partition(Office.location, office="portland")
    expected = sorted(
        [("office", o["office"]) for o in OFFICES if o["office"] == "portland"]
        + [("employee", e["employee"]) for e in EMPLOYEES if e["office"] == "portland"]
    )
    assert not found.unknown
    assert _names(found.items) == expected


def test_assignments_collection(table: Table) -> None:
    found = table.partition(Employee.lookup, employee="tyler.walch")
    expected = sorted(
        [("employee", "tyler.walch")]
        + [("task", t["task"]) for t in TASKS if t["employee"] == "tyler.walch"]
    )
    assert not found.unknown
    assert _names(found.items) == expected


def test_junior_developers_earning_more_than_100000(table: Table) -> None:
    title, salary = "Junior Software Engineer", "100000"
    found = Employee.roles.query(title=title).range(Employee.salary > salary).all()
    expected = sorted(
        e["employee"] for e in EMPLOYEES if e["title"] == title and e["salary"] > salary
    )
    assert sorted(e.employee for e in found) == expected


def test_open_tasks_of_a_project_of_at_most_13_points(table: Table) -> None:
    query = (
        Task.statuses.query(status="open").range(Task.project == "135-53").where(Task.points <= 13)
    )
    expected = sorted(
        t["task"]
        for t in TASKS
        if t["status"] == "open" and t["project"] == "135-53" and t["points"] <= 13
    )
    assert sorted(t.task for t in query.all()) == expected


def test_marketing_hired_between_two_and_five_years_ago(table: Table) -> None:
    two, five = _ago(2), _ago(5)
    found = Employee.teams.query(team="marketing").range(Employee.date_hired.between(five, two))
    expected = sorted(
        e["employee"]
        for e in EMPLOYEES
        if e["team"] == "marketing" and five <= e["dateHired"] <= two
    )
    assert sorted(e.employee for e in found.all()) == expected


def _raw(table: Table, item: dict[str, Any]) -> dict[str, Any]:
    key = {"pk": item["pk"], "sk": item["sk"]}
    got: dict[str, Any] = table.call(
        "GetItem", {"TableName": table.name, "Key": key, "ConsistentRead": True}, idempotent=True
    )["Item"]
    return got


def test_an_electrodb_item_reads_and_saves_back_unchanged_but_for_the_change(table: Table) -> None:
    # Written raw, as ElectroDB stores it, with an attribute Task does not declare.
    row = {"task": "t9", "project": "135-53", "employee": "jlowe", "status": "open", "points": 5}
    original = electro("task", row)
    original["comments"] = {"L": [{"M": {"by": {"S": "tyler.walch"}, "text": {"S": "ok"}}}]}
    table.call("PutItem", {"TableName": table.name, "Item": original}, idempotent=True)

    read = table.from_item(_raw(table, original))
    assert isinstance(read, Task)
    task = Task.get(task="t9", project="135-53", employee="jlowe")
    assert task is not None
    assert task == read
    assert task.points == 5
    task.description = "now described"
    task.save()
    assert _raw(table, original) == {**original, "description": {"S": "now described"}}

    # A change of a key field moves the index keys exactly as ElectroDB would write them.
    task.status = "closed"
    task.save()
    expected = electro("task", {**row, "status": "closed", "description": "now described"})
    assert _raw(table, original) == {**expected, "comments": original["comments"]}
