"""The plugin's fixtures serve async tests, under anyio's pytest plugin and under pytest-asyncio.

Every scenario lives once, in ``Scenarios``, and runs twice: ``TestAnyio`` marks it
``anyio`` (anyio's plugin runs it), ``TestPytestAsyncio`` marks it ``asyncio``
(pytest-asyncio, strict mode, runs it). The fixtures are the plugin's own: ``table_factory``
(the test's table, seen from every task), ``fault_injector`` (its hooks are the hook point
the async transport calls, so the faults reach ``await``-ed calls), ``dynamodb_endpoint``,
``dynamodb_capabilities`` and the ``requires`` marker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dynaorm import (
    EndpointUnavailable,
    Entity,
    Key,
    RetryPolicy,
    Table,
    Throttled,
    VersionAttribute,
    VersionConflict,
)
from dynaorm.testing import FaultInjectorFactory

Factory = Callable[[Table], Table]

ledger = Table("test-async-plugin")


class Account(Entity, table=ledger):
    account_id = UnicodeAttribute()
    entry = NumberAttribute()
    amount = NumberAttribute(default=0)
    version = VersionAttribute()
    primary = Key(pk="ACCOUNT#{account_id}", sk="ENTRY#{entry:06d}")


FAST = RetryPolicy(max_attempts=30, base_delay=0.001, cap=0.005)


@pytest.fixture
def policy() -> Iterator[RetryPolicy]:
    """A quick retry policy on the test's table, removed afterwards."""
    ledger.retry_policy = FAST
    yield FAST
    ledger.retry_policy = None


async def seed(table_factory: Factory) -> AsyncIterator[list[Account]]:
    """The body of the ``accounts`` fixtures: three accounts written with ``await``."""
    table_factory(ledger)
    made = [Account(account_id="a8", entry=n, amount=n) for n in range(3)]
    await asyncio.gather(*(account.asave() for account in made))
    yield made
    await Account.query(account_id="a8").acount()  # teardown may await too, in the same loop


class Scenarios:
    """Run by each subclass under its own async plugin (not collected itself)."""

    async def test_table_factory_gives_a_fresh_table(
        self, table_factory: Factory, dynamodb_endpoint: str
    ) -> None:
        table = table_factory(ledger)
        assert table is ledger
        assert ledger.name.startswith("test-async-plugin-")
        assert ledger.settings.endpoint_url == dynamodb_endpoint
        entry = Account(account_id="a1", entry=1, amount=5)
        await entry.asave()
        assert entry.version == 1
        assert await Account.aget(account_id="a1", entry=1) == entry
        await entry.aupdate(Account.amount.add(2))
        stale = Account(account_id="a1", entry=1, amount=0, version=1)
        with pytest.raises(VersionConflict):
            await stale.asave()
        await entry.adelete()
        assert await Account.aget(account_id="a1", entry=1) is None

    async def test_concurrent_tasks_see_the_test_table(self, table_factory: Factory) -> None:
        table_factory(ledger)
        await asyncio.gather(
            *(Account(account_id="a2", entry=n, amount=n).asave() for n in range(20))
        )
        query = Account.query(account_id="a2")
        assert await query.acount() == 20
        first = await query.limit(8).apage()
        rest = await query.apage(first.cursor)
        assert [a.entry for a in [*first, *rest]] == list(range(20))
        assert ledger.scan().count() == 20  # the sync API sees the same table

    async def test_faults_reach_awaited_calls(
        self, table_factory: Factory, fault_injector: FaultInjectorFactory, policy: RetryPolicy
    ) -> None:
        table = table_factory(ledger)
        for n in range(5):
            Account(account_id="a3", entry=n).save()
        faults = fault_injector(table, seed=5, throttle=0.3, server_error=0.2)
        found = await asyncio.gather(*(Account.aget(account_id="a3", entry=n) for n in range(5)))
        assert all(item is not None for item in found)
        assert len(await Account.query(account_id="a3").page_size(2).aall()) == 5
        stats = faults.stats
        assert stats.throttled + stats.server_errors == stats.faults > 0
        assert stats.calls >= 5 + 3 + stats.faults  # every attempt passed through the hooks

    async def test_an_async_give_up_raises_the_sync_error(
        self, table_factory: Factory, fault_injector: FaultInjectorFactory
    ) -> None:
        table = table_factory(ledger)
        ledger.retry_policy = RetryPolicy(max_attempts=3, base_delay=0.001)
        try:
            faults = fault_injector(table, seed=1, throttle=1.0, operations={"GetItem"})
            with pytest.raises(Throttled):
                await Account.aget(account_id="a4", entry=1)
            assert faults.stats.throttled == 3  # three attempts, all refused
        finally:
            ledger.retry_policy = None

    async def test_a_lost_response_on_an_async_write(
        self, table_factory: Factory, fault_injector: FaultInjectorFactory
    ) -> None:
        table = table_factory(ledger)
        faults = fault_injector(table, seed=2, lost_response=1.0, limit=1)
        entry = Account(account_id="a5", entry=1, amount=9)
        with pytest.raises(EndpointUnavailable):
            await entry.asave()  # versioned, so conditional: not retried blindly
        assert faults.stats.lost_responses == 1
        stored = await Account.aget(account_id="a5", entry=1)
        assert stored is not None  # ...yet it was applied
        assert stored.amount == 9

    async def test_injectors_are_removed_when_the_test_ends(
        self, table_factory: Factory, fault_injector: FaultInjectorFactory
    ) -> None:
        table = table_factory(ledger)
        faults = fault_injector(table, seed=3, throttle=1.0)
        faults.uninstall()  # what the fixture does at teardown
        await Account(account_id="a6", entry=1).asave()
        assert faults.stats.calls == 0

    async def test_an_async_fixture_on_the_factory(self, accounts: list[Account]) -> None:
        # ``accounts`` is an async fixture of the test's own (defined per plugin below) that
        # asked for table_factory and wrote with ``await``.
        assert ledger.name.startswith("test-async-plugin-")
        assert await Account.query(account_id="a8").aall() == accounts

    @pytest.mark.requires("transactions")
    async def test_the_requires_marker(
        self, table_factory: Factory, dynamodb_capabilities: Any
    ) -> None:
        table_factory(ledger)
        assert dynamodb_capabilities.transactions
        await Account(account_id="a7", entry=1).asave()


@pytest.mark.anyio
class TestAnyio(Scenarios):
    """The scenarios under anyio's pytest plugin (the asyncio backend)."""

    @pytest.fixture
    async def accounts(self, table_factory: Factory) -> AsyncIterator[list[Account]]:
        async for made in seed(table_factory):
            yield made


@pytest.mark.asyncio
class TestPytestAsyncio(Scenarios):
    """The scenarios under pytest-asyncio (strict mode)."""

    @pytest_asyncio.fixture
    async def accounts(self, table_factory: Factory) -> AsyncIterator[list[Account]]:
        async for made in seed(table_factory):
            yield made


def test_each_scenario_runs_under_both_plugins(request: pytest.FixtureRequest) -> None:
    names = {item.name.split("[")[0] for item in request.session.items}
    # Doctest items (the package's docstrings run in the same session) have no module.
    mine = [i for i in request.session.items if getattr(i, "module", None) is request.module]
    by_class: dict[str, set[str]] = {}
    for item in mine:
        if getattr(item, "cls", None) is not None:
            by_class.setdefault(item.cls.__name__, set()).add(item.name.split("[")[0])
    if set(by_class) != {"TestAnyio", "TestPytestAsyncio"}:
        pytest.skip("only part of this module was selected")
    assert by_class["TestAnyio"] == by_class["TestPytestAsyncio"]
    assert names >= by_class["TestAnyio"]
