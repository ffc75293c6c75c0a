"""Random filters run on the server return exactly what Python says the predicate selects.

Each strategy draws a PynamoDB condition together with a Python predicate over the same
product, following DynamoDB's rules: a comparison with a missing attribute is false, except
``<>`` which is true; ``NOT`` negates whatever its operand gave. ``size()`` is only drawn on
attributes every product has (the embedded server errors on ``size`` of a missing attribute,
where DynamoDB returns false).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.expressions.condition import Condition

from dynaorm import Entity, Key, Table, size
from dynaorm.testing import unique_table_name

filters_table = Table("test-filters")


class Product(Entity, table=filters_table):
    shop = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()  # reserved words as attribute names: name, status, size, count
    status = UnicodeAttribute()
    size = NumberAttribute()
    count = NumberAttribute(null=True)
    price = NumberAttribute()
    tags = UnicodeSetAttribute(null=True)
    meta = MapAttribute(null=True)  # type: ignore[var-annotated]
    lines = ListAttribute(of=NumberAttribute)
    primary = Key(pk="SHOP#{shop}", sk="SKU#{sku}")


class Other(Entity, table=filters_table):
    """Shares the partition; never matches a Product query."""

    shop = UnicodeAttribute()
    name = UnicodeAttribute()
    price = NumberAttribute()
    primary = Key(pk="SHOP#{shop}", sk="OTHER#{name}")


# No empty names: dynalite evaluates size("") wrongly (DynamoDB and moto give 0).
NAMES = ["apple", "apricot", "banana", "Berry", "cherry", "é-clair", "fig", "kiwi"]
STATUSES = ["NEW", "LIVE", "GONE"]
TAGS = ["red", "green", "sale", "new"]
COLOURS = ["red", "blue", "rouge"]
PRICES = [-5, 0, 1, 2.5, 10, 99, 100]

Row = dict[str, Any]


def products() -> list[Row]:
    rng = random.Random(20240501)
    rows = []
    for i in range(60):
        row: Row = {
            "sku": f"p{i:02d}",
            "name": rng.choice(NAMES) + ("" if i % 4 else str(i)),
            "status": rng.choice(STATUSES),
            "size": rng.randint(0, 6),
            "count": rng.choice([None, 0, 1, 7]),
            "price": rng.choice(PRICES),
            "tags": set(rng.sample(TAGS, rng.randint(0, 3))) or None,
            "meta": rng.choice(
                [None, {}, {"colour": rng.choice(COLOURS)}, {"colour": "red", "x": 1}]
            ),
            "lines": [rng.randint(0, 3) for _ in range(rng.randint(0, 4))],
        }
        rows.append(row)
    return rows


ROWS = products()


@pytest.fixture(autouse=True)
def _cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAORM_CURSOR_SECRET", "test-filters-secret")


@pytest.fixture(scope="module")
def catalogue(dynamodb_endpoint: str) -> Iterator[Table]:
    """60 products and 5 other items in one partition, written once for every example."""
    table = filters_table
    with table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint):
        table.create()
        try:
            for row in ROWS:
                Product(shop="s1", **row).save()
            for i in range(5):
                Other(shop="s1", name=f"o{i}", price=10).save()
            yield table
        finally:
            table.delete(missing_ok=True, wait=False)


Predicate = Callable[[Row], bool]
Drawn = tuple[Condition, Predicate, str]


def compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return op == "<>"
    return {
        "=": left == right,
        "<>": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


def comparison(attribute: Any, op: str, value: Any) -> Condition:
    return {
        "=": lambda: attribute == value,
        "<>": lambda: attribute != value,
        "<": lambda: attribute < value,
        "<=": lambda: attribute <= value,
        ">": lambda: attribute > value,
        ">=": lambda: attribute >= value,
    }[op]()


OPS = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
NUMBERS = st.sampled_from([-5, 0, 1, 2, 2.5, 3, 7, 10, 99, 100, 101])
TEXTS = st.sampled_from([*NAMES, "a", "ap", "b", "c", "z", "NEW", "LIVE", ""])


@st.composite
def atoms(draw: st.DrawFn) -> Drawn:
    kind = draw(st.integers(0, 11))
    if kind <= 2:  # numbers, always present or optional
        name = draw(st.sampled_from(["price", "size", "count"]))
        attribute = getattr(Product, name)
        op, value = draw(OPS), draw(NUMBERS)
        return (
            comparison(attribute, op, value),
            lambda r: compare(op, r[name], value),
            f"{name} {op} {value}",
        )
    if kind == 3:
        name = draw(st.sampled_from(["price", "count"]))
        low, high = sorted([draw(NUMBERS), draw(NUMBERS)])
        return (
            getattr(Product, name).between(low, high),
            lambda r: r[name] is not None and low <= r[name] <= high,
            f"{name} between {low} and {high}",
        )
    if kind == 4:
        op, text = draw(OPS), draw(TEXTS)
        return (
            comparison(Product.name, op, text),
            lambda r: compare(op, r["name"], text),
            f"name {op} {text!r}",
        )
    if kind == 5:
        prefix = draw(st.sampled_from(["a", "ap", "B", "é", "ch", "fig1"]))
        return (
            Product.name.startswith(prefix),
            lambda r: r["name"].startswith(prefix),
            f"begins_with(name, {prefix!r})",
        )
    if kind == 6:
        part = draw(st.sampled_from(["an", "rr", "1", "e", "x"]))
        return (
            Product.name.contains(part),
            lambda r: part in r["name"],
            f"contains(name, {part!r})",
        )
    if kind == 7:
        options = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2, unique=True))
        return (
            Product.status.is_in(*options),
            lambda r: r["status"] in options,
            f"status in {options}",
        )
    if kind == 8:
        tag = draw(st.sampled_from(TAGS))
        return (
            Product.tags.contains(tag),
            lambda r: r["tags"] is not None and tag in r["tags"],
            f"contains(tags, {tag!r})",
        )
    if kind == 9:
        op, colour = draw(st.sampled_from(["=", "<>"])), draw(st.sampled_from(COLOURS))

        def colour_of(r: Row) -> Any:
            return (r["meta"] or {}).get("colour")

        return (
            comparison(Product.meta["colour"], op, colour),
            lambda r: compare(op, colour_of(r), colour),
            f"meta.colour {op} {colour!r}",
        )
    if kind == 10:
        name = draw(st.sampled_from(["count", "tags", "meta"]))
        exists = draw(st.booleans())
        path = getattr(Product, name)
        return (
            path.exists() if exists else path.does_not_exist(),
            lambda r: (r[name] is not None) == exists,
            f"{'exists' if exists else 'missing'}({name})",
        )
    name = draw(st.sampled_from(["lines", "name"]))
    op, n = draw(OPS), draw(st.integers(0, 5))
    return (
        comparison(size(getattr(Product, name)), op, n),
        lambda r: compare(op, len(r[name]), n),
        f"size({name}) {op} {n}",
    )


def combine(children: st.SearchStrategy[Drawn]) -> st.SearchStrategy[Drawn]:
    def pair(op: str) -> st.SearchStrategy[Drawn]:
        def build(drawn: tuple[Drawn, Drawn]) -> Drawn:
            (lc, lp, ld), (rc, rp, rd) = drawn
            if op == "&":
                return lc & rc, lambda r: lp(r) and rp(r), f"({ld} AND {rd})"
            return lc | rc, lambda r: lp(r) or rp(r), f"({ld} OR {rd})"

        return st.tuples(children, children).map(build)

    negated = children.map(lambda d: (~d[0], lambda r: not d[1](r), f"NOT {d[2]}"))
    return st.one_of(pair("&"), pair("|"), negated)


filters = st.recursive(atoms(), combine, max_leaves=5)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(drawn=filters, extra=st.lists(atoms(), max_size=2))
def test_server_filters_equal_python_evaluation(
    catalogue: Table, drawn: Drawn, extra: list[Drawn]
) -> None:
    condition, predicate, description = drawn
    conditions = [condition, *(c for c, _, _ in extra)]  # where() ANDs them

    def expected(row: Row) -> bool:
        return predicate(row) and all(p(row) for _, p, _ in extra)

    want = sorted(r["sku"] for r in ROWS if expected(r))
    query = Product.query(shop="s1").where(*conditions)
    got = [p.sku for p in query.all()]
    assert got == want, description
    assert query.count() == len(want), description
    scanned = sorted(p.sku for p in Product.scan().where(*conditions).all())
    assert scanned == want, description


def test_the_data_exercises_every_branch() -> None:
    assert any(r["count"] is None for r in ROWS)
    assert any(r["count"] is not None for r in ROWS)
    assert any(r["tags"] is None for r in ROWS)
    assert any(r["meta"] is None for r in ROWS)
    assert any(r["meta"] == {} for r in ROWS)
    assert any(r["name"][-1].isdigit() for r in ROWS)
    assert len({r["status"] for r in ROWS}) == len(STATUSES)
