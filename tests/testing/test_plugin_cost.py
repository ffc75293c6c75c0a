"""The pytest plugin costs nothing in a run that uses none of its fixtures.

pytest loads the plugin (the ``pytest11`` entry point ``dynaorm``) in every run of an
environment where dynaorm is installed. A run whose tests ask for no dynaorm fixture must
import neither dynaorm's internals nor botocore, boto3, moto or werkzeug, start no server and
run no fixture of the plugin; the ``requires`` marker and the fixtures still work when used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import dynaorm

if TYPE_CHECKING:  # the type of the plugin's dynamodb_capabilities fixture, for annotations only
    from dynaorm.tools.probe import Capabilities

ROOT = Path(dynaorm.__file__).resolve().parent.parent
HEAVY = (
    "botocore",
    "boto3",
    "moto",
    "werkzeug",
    "pynamodb",
    "dynaorm.model.table",
    "dynaorm.local",
)

CONFTEST = """
import json, os, sys

def pytest_sessionfinish(session):
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""

PLAIN_TESTS = """
import sys

HEAVY = {heavy!r}

def test_nothing_heavy_is_imported_while_tests_run(request):
    loaded = [m for m in sys.modules if m.split(".")[0] in HEAVY or m in HEAVY]
    assert loaded == []
    assert not any(name.startswith("_dynaorm") for name in request.fixturenames)

def test_the_plugin_is_loaded(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("dynaorm")
"""


def run_pytest(
    tmp_path: Path, tests: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(tests)
    out = tmp_path / "modules.json"
    environment = {
        **os.environ,
        **(env or {}),
        "MODULES_OUT": str(out),
        # The checkout under test, not whichever dynaorm the environment has installed.
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_sample.py"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    modules = json.loads(out.read_text()) if out.exists() else []
    return result, modules


def test_a_run_without_dynaorm_fixtures_imports_nothing_heavy(tmp_path: Path) -> None:
    result, modules = run_pytest(tmp_path, PLAIN_TESTS.format(heavy=HEAVY))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "dynaorm.testing" in modules  # the plugin was loaded ...
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == []  # ... and imported nothing heavy, up to the end of the session


def test_the_check_sees_a_heavy_import(tmp_path: Path) -> None:
    # The same run with one test importing botocore: the check above would catch a plugin
    # that imported it.
    tests = PLAIN_TESTS.format(heavy=HEAVY) + "\nimport botocore.session\n"
    result, modules = run_pytest(tmp_path, tests)
    assert result.returncode == 1
    assert "botocore" in modules


FIXTURE_TESTS = """
import sys
import pytest
from pynamodb.attributes import UnicodeAttribute
from dynaorm import Entity, Key, Table

shop = Table("plugin-cost")

class Customer(Entity, table=shop):
    customer_id = UnicodeAttribute()
    primary = Key(pk="C#{customer_id}", sk="C")

def test_fixture(table_factory):
    table_factory(shop)
    Customer(customer_id="c1").save()
    assert Customer.get(customer_id="c1") is not None

@pytest.mark.requires("transactions")
def test_required_feature_present():
    assert "dynaorm.tools.probe" in sys.modules

@pytest.mark.requires("enforces_batch_limits", "ttl")
def test_marked_and_skipped_unless_supported(dynamodb_capabilities):
    assert dynamodb_capabilities.enforces_batch_limits and dynamodb_capabilities.ttl

def test_unmarked_test_after_marked_ones(request):
    assert "_dynaorm_requires" not in request.fixturenames
"""


def test_fixtures_and_the_requires_marker_still_work(
    tmp_path: Path, dynamodb_endpoint: str, dynamodb_capabilities: Capabilities
) -> None:
    result, modules = run_pytest(
        tmp_path, FIXTURE_TESTS, "-vv", env={"DYNAORM_TEST_ENDPOINT": dynamodb_endpoint}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    caps = dynamodb_capabilities
    expected = {
        "test_fixture": "PASSED",
        "test_required_feature_present": "PASSED" if caps.transactions else "SKIPPED",
        "test_marked_and_skipped_unless_supported": (
            "PASSED" if caps.enforces_batch_limits and caps.ttl else "SKIPPED"
        ),
        "test_unmarked_test_after_marked_ones": "PASSED",
    }
    for name, outcome in expected.items():
        assert f"test_sample.py::{name} {outcome}" in result.stdout, result.stdout
    assert "dynaorm.tools.probe" in modules


@pytest.mark.parametrize("statement", ["import dynaorm", "import dynaorm.testing"])
def test_importing_the_package_is_light(statement: str) -> None:
    code = (
        f"{statement}\nimport sys\nprint(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
