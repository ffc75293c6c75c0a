"""pytest plugin: a DynamoDB endpoint per test session and a fresh table per test.

Registered through the ``pytest11`` entry point, so installing dynaorm makes these fixtures
available:

* ``dynamodb_endpoint`` (session): ``DYNAORM_TEST_ENDPOINT`` when set, otherwise an embedded
  server (:class:`~dynaorm.local.LocalDynamoDB`). While the session runs, dynaorm's global
  settings point at it, so no test can reach real AWS by accident.
* ``table_factory``: call it with a :class:`~dynaorm.Table` definition; the table gets a unique
  physical name (for every thread: threads a test starts see it too), is created, and is
  deleted (and its name and settings restored) after the test. :func:`renamed` does the
  renaming, for fixtures of a wider scope.
* ``dynamodb_capabilities`` (session): what the server supports, found by probing it once.
* ``fault_injector``: call it with a table (or a botocore client) and the options of
  :class:`~dynaorm.faults.FaultInjector`; it installs seeded, repeatable faults (throttling,
  5xx, failed connections, read timeouts, lost responses, unprocessed batch items and keys,
  latency) and removes them when the test ends. ``FaultInjector`` and ``FaultStats`` are
  importable from here too.
* the ``requires`` marker: ``@pytest.mark.requires("transactions")`` skips a test, with the
  reason, on a server that lacks the feature (see :class:`~dynaorm.tools.probe.Capabilities`).

The fixtures are synchronous, so they serve ``async def`` tests under anyio's pytest plugin
(``@pytest.mark.anyio``) or pytest-asyncio (``@pytest.mark.asyncio``) alike; the fault
injector hooks the point the async transport calls too, so its faults reach awaited calls.

Example::

    def test_customer_round_trip(table_factory):
        table_factory(shop)
        Customer(customer_id="c1", email="a@x.io").save()
        assert Customer.get(customer_id="c1").email == "a@x.io"

    def test_import_survives_throttling(table_factory, fault_injector):
        table = table_factory(shop)
        faults = fault_injector(table, seed=3, throttle=0.2, unprocessed=0.3)
        with table.batch_write(policy=RetryPolicy(max_attempts=30, base_delay=0.001)) as batch:
            for i in range(500):
                batch.put(Customer(customer_id=f"c{i}", email=f"{i}@x.io"))
        assert faults.stats.faults > 0
        assert Customer.scan().consistent().count() == 500

    @pytest.mark.anyio
    async def test_async_round_trip(table_factory):
        table_factory(shop)
        await Customer(customer_id="c1", email="a@x.io").asave()
        assert (await Customer.aget(customer_id="c1")).email == "a@x.io"
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Protocol

import pytest

# Nothing heavy at import time: pytest loads this plugin in every run of an environment where
# dynaorm is installed, so dynaorm itself, botocore and moto are imported inside the fixtures,
# on first use (tests/testing/test_plugin_cost.py checks a run without dynaorm fixtures imports
# none).

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from dynaorm.api.table import Table
    from dynaorm.faults import FaultInjector, FaultStats
    from dynaorm.tools.probe import Capabilities

__all__ = [
    "FaultInjector",
    "FaultInjectorFactory",
    "FaultStats",
    "dynamodb_capabilities",
    "dynamodb_endpoint",
    "fault_injector",
    "renamed",
    "table_factory",
    "unique_table_name",
]


def __getattr__(name: str) -> Any:
    # FaultInjector and FaultStats stay importable from here, loaded when first asked for.
    if name in ("FaultInjector", "FaultStats"):
        from dynaorm import faults

        return getattr(faults, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FaultInjectorFactory(Protocol):
    """The type of the ``fault_injector`` fixture."""

    def __call__(
        self,
        target: Table | BaseClient,
        *,
        tables: Collection[str] | None = None,
        **options: Any,
    ) -> FaultInjector:
        """Install a :class:`FaultInjector` made with ``options`` on ``target``."""
        ...


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``requires`` marker."""
    config.addinivalue_line(
        "markers",
        "requires(*features): skip unless the DynamoDB server supports every feature "
        "(transactions, ttl, partiql, return_values_on_condition_failure, "
        "idempotent_transactions, enforces_batch_limits)",
    )


def unique_table_name(base: str) -> str:
    """``base`` plus a random suffix, within DynamoDB's 255-character limit."""
    return f"{base[:200]}-{uuid.uuid4().hex[:12]}"


def _cursor_secret_configured() -> bool:
    from dynaorm.base.settings import current_settings

    shared = current_settings()
    return bool(
        shared.cursor_secret
        or shared.cursor_secrets
        or os.environ.get("DYNAORM_CURSOR_SECRETS")
        or os.environ.get("DYNAORM_CURSOR_SECRET")
    )


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """The endpoint every test of the session talks to."""
    from dynaorm.base.settings import configure
    from dynaorm.local import LocalDynamoDB
    from dynaorm.read.cursor_secrets import is_local_endpoint

    endpoint = os.environ.get("DYNAORM_TEST_ENDPOINT")
    with ExitStack() as stack:
        if not endpoint:
            endpoint = stack.enter_context(LocalDynamoDB()).endpoint_url
        settings: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region": os.environ.get("DYNAORM_REGION"),
        }
        if not is_local_endpoint(endpoint) and not _cursor_secret_configured():
            # A test session is one process, so a random cursor secret is sound here (dynaorm
            # refuses to make one up for a non-local endpoint on its own).
            settings["cursor_secrets"] = [secrets.token_urlsafe(32)]
        previous = configure(**settings)
        try:
            yield endpoint
        finally:
            configure(**{name: getattr(previous, name) for name in settings})


@contextlib.contextmanager
def renamed(table: Table, name: str, endpoint_url: str) -> Iterator[Table]:
    """``table`` named ``name`` on ``endpoint_url`` for every thread while the block runs;
    its name and settings are restored afterwards.

    Unlike :meth:`Table.override`, which holds only in the calling context, this renames the
    table process-wide, so threads a test starts itself see the test's table too.
    """
    saved = (table.name, table.settings)
    table.name = name
    table.configure(endpoint_url=endpoint_url)
    try:
        yield table
    finally:
        table.name, table.settings = saved


@pytest.fixture
def table_factory(dynamodb_endpoint: str) -> Iterator[Callable[[Table], Table]]:
    """Give each test fresh, uniquely named tables for Table definitions."""
    with ExitStack() as stack:

        def make(table: Table) -> Table:
            stack.enter_context(renamed(table, unique_table_name(table.name), dynamodb_endpoint))
            table.create(wait=True)
            stack.callback(table.delete, missing_ok=True, wait=False)
            return table

        yield make


@pytest.fixture
def fault_injector(
    table_factory: Callable[[Table], Table],
) -> Iterator[FaultInjectorFactory]:
    """Install seeded fault injectors for the rest of the test; they are removed afterwards,
    before ``table_factory`` deletes the test's tables.

    Call it after ``table_factory`` (the injector is scoped to the table's final name)::

        faults = fault_injector(table, seed=7, read_timeout=0.1, unprocessed=0.3)
        ...
        print(faults.stats)
    """
    from dynaorm.faults import FaultInjector

    installed: list[FaultInjector] = []

    def make(
        target: Table | BaseClient, *, tables: Collection[str] | None = None, **options: Any
    ) -> FaultInjector:
        injector = FaultInjector(**options).install(target, tables=tables)
        installed.append(injector)
        return injector

    yield make
    for injector in reversed(installed):
        injector.uninstall()


@pytest.fixture(scope="session")
def dynamodb_capabilities(dynamodb_endpoint: str) -> Capabilities:
    """What the session's server supports, probed once."""
    from dynaorm.tools.probe import probe_capabilities

    return probe_capabilities()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each test marked ``requires`` the fixture that probes the server and skips it
    (tests without the marker get no fixture of this plugin they did not ask for)."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        marked = item.get_closest_marker("requires") is not None
        if marked and isinstance(names, list) and _REQUIRES_FIXTURE not in names:
            names.insert(0, _REQUIRES_FIXTURE)


_REQUIRES_FIXTURE = "_dynaorm_requires"


@pytest.fixture(name=_REQUIRES_FIXTURE)
def _dynaorm_requires(request: pytest.FixtureRequest) -> None:
    """Skip the test, with the reason, when the server lacks a feature it ``requires``."""
    marker = request.node.get_closest_marker("requires")
    if marker is None:
        return
    capabilities: Capabilities = request.getfixturevalue("dynamodb_capabilities")
    missing = [feature for feature in marker.args if not capabilities.supports(feature)]
    if missing:
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        pytest.skip(f"the server at {endpoint} does not support {', '.join(missing)} (probed)")
