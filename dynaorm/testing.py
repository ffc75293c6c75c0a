"""pytest plugin: a DynamoDB endpoint per test session and a fresh table per test.

Registered through the ``pytest11`` entry point, so installing dynaorm makes these fixtures
available:

* ``dynamodb_endpoint`` (session): ``DYNAORM_TEST_ENDPOINT`` when set, otherwise an embedded
  server (:class:`~dynaorm.local.LocalDynamoDB`). While the session runs, dynaorm's global
  settings point at it, so no test can reach real AWS by accident.
* ``table_factory``: call it with a :class:`~dynaorm.Table` definition; the table gets a unique
  physical name, is created, and is deleted (and its name restored) after the test.
* ``dynamodb_capabilities`` (session): what the server supports, found by probing it once.
* the ``requires`` marker: ``@pytest.mark.requires("transactions")`` skips a test, with the
  reason, on a server that lacks the feature (see :class:`~dynaorm._probe.Capabilities`).

Example::

    def test_customer_round_trip(table_factory):
        table_factory(shop)
        Customer(customer_id="c1", email="a@x.io").save()
        assert Customer.get(customer_id="c1").email == "a@x.io"
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from dynaorm._probe import Capabilities, probe_capabilities
from dynaorm._settings import configure
from dynaorm._table import Table
from dynaorm.local import LocalDynamoDB

__all__ = [
    "dynamodb_capabilities",
    "dynamodb_endpoint",
    "table_factory",
    "unique_table_name",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``requires`` marker."""
    config.addinivalue_line(
        "markers",
        "requires(*features): skip unless the DynamoDB server supports every feature "
        "(transactions, ttl, return_values_on_condition_failure, idempotent_transactions, "
        "enforces_batch_limits)",
    )


def unique_table_name(base: str) -> str:
    """``base`` plus a random suffix, within DynamoDB's 255-character limit."""
    return f"{base[:200]}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """The endpoint every test of the session talks to."""
    endpoint = os.environ.get("DYNAORM_TEST_ENDPOINT")
    with ExitStack() as stack:
        if not endpoint:
            endpoint = stack.enter_context(LocalDynamoDB()).endpoint_url
        previous = configure(endpoint_url=endpoint, region=os.environ.get("DYNAORM_REGION"))
        try:
            yield endpoint
        finally:
            configure(endpoint_url=previous.endpoint_url, region=previous.region)


@pytest.fixture
def table_factory(dynamodb_endpoint: str) -> Iterator[Callable[[Table], Table]]:
    """Give each test fresh, uniquely named tables for Table definitions."""
    with ExitStack() as stack:

        def make(table: Table) -> Table:
            stack.enter_context(
                table.override(name=unique_table_name(table.name), endpoint_url=dynamodb_endpoint)
            )
            table.create(wait=True)
            stack.callback(table.delete, missing_ok=True, wait=False)
            return table

        yield make


@pytest.fixture(scope="session")
def dynamodb_capabilities(dynamodb_endpoint: str) -> Capabilities:
    """What the session's server supports, probed once."""
    return probe_capabilities()


@pytest.fixture(autouse=True)
def _dynaorm_requires(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("requires")
    if marker is None:
        return
    capabilities: Capabilities = request.getfixturevalue("dynamodb_capabilities")
    missing = [feature for feature in marker.args if not capabilities.supports(feature)]
    if missing:
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        pytest.skip(f"the server at {endpoint} does not support {', '.join(missing)} (probed)")
