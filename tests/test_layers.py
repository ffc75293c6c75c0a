"""Imports point down the layers of DESIGN.md, never up (checked by parsing the sources)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynaorm

PACKAGE = Path(dynaorm.__file__).parent

# Lower rank = lower layer. A module may import modules of its own rank or lower.
KNOWN_RANKS: dict[str, int] = {
    "_errors": 0,
    # Pure building blocks: templates, retry policy, settings, index definitions, expressions.
    "_keys": 10,
    "_retry": 10,
    "_settings": 10,
    "_indexes": 10,
    "_expressions": 10,
    "_limits": 10,
    "_values": 10,
    "_changes": 10,
    "_mutate": 10,
    "_timestamps": 10,
    "_class_cache": 10,
    "_threads": 10,
    # Talking to the server.
    "_translate": 20,
    "_transport": 20,
    "_batching": 20,
    "_write_ledger": 10,
    "_fault_plan": 20,
    "_schema": 30,
    # Raw item -> entity or UnknownItem: sees tables and entities only under TYPE_CHECKING.
    "_decode": 35,
    "_table": 40,
    "_entity_keys": 50,
    # The write paths entities delegate to; they see entities only under TYPE_CHECKING.
    "_writes": 55,
    "_index_sync": 55,
    "_updates": 55,
    "_entity_writes": 55,
    "_entity": 60,
    "_local_items": 75,
    "local": 80,
    "testing": 90,
    # Helpers of the command line only.
    "_layout": 95,
    "_loader": 95,
    "cli": 100,
}
# Modules not listed (query, batch, transactions, ...) sit above the entities, below local.
DEFAULT_RANK = 70
# Importing the package itself pulls in everything.
PACKAGE_RANK = 1000


def rank(module: str) -> int:
    return KNOWN_RANKS.get(module, DEFAULT_RANK)


def modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _children(node: ast.AST, *, functions: bool) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from child.orelse  # only the else branch runs at import time
            continue
        if not functions and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        yield child


def imports(module: str, *, module_level: bool = True) -> set[str]:
    """The dynaorm modules ``module`` imports (``""`` for the package itself).

    With ``module_level``, imports inside functions (run later, if ever) are left out; imports
    under ``if TYPE_CHECKING:`` never count.
    """
    return imports_in((PACKAGE / f"{module}.py").read_text(), module_level=module_level)


def imports_in(source: str, *, module_level: bool = True) -> set[str]:
    """:func:`imports` for module source text."""
    tree = ast.parse(source)
    found: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in _children(node, functions=not module_level):
            pending.append(child)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "dynaorm" or alias.name.startswith("dynaorm."):
                        found.add(alias.name.partition(".")[2])
            elif isinstance(child, ast.ImportFrom):
                base = "dynaorm" if child.level else (child.module or "")
                if child.level and child.module:
                    base = f"dynaorm.{child.module}"
                if base == "dynaorm":
                    # ``from dynaorm import _keys`` imports a module; ``import Table`` the package.
                    for alias in child.names:
                        found.add(alias.name if (PACKAGE / f"{alias.name}.py").exists() else "")
                elif base.startswith("dynaorm."):
                    found.add(base.partition(".")[2].partition(".")[0])
    return found


def test_the_known_modules_exist() -> None:
    gone = sorted(set(KNOWN_RANKS) - set(modules()))
    assert not gone, f"remove {gone} from KNOWN_RANKS in tests/test_layers.py"


@pytest.mark.parametrize("module", modules())
def test_imports_point_down(module: str) -> None:
    upward = sorted(
        target or "dynaorm"
        for target in imports(module)
        if (rank(target) if target else PACKAGE_RANK) > rank(module)
    )
    assert not upward, (
        f"dynaorm/{module}.py (layer {rank(module)}) imports higher layers {upward}; "
        "move the shared code down, import lazily inside a function, import under "
        "TYPE_CHECKING for annotations only, or (for a new low-level module) give the module "
        "its layer in KNOWN_RANKS in tests/test_layers.py"
    )


def test_expressions_is_a_pure_bottom_layer() -> None:
    assert imports("_expressions", module_level=False) <= {"_errors"}


def test_errors_import_nothing_from_dynaorm() -> None:
    assert imports("_errors", module_level=False) == set()


def test_the_checker_sees_imports() -> None:
    assert "_errors" in imports("_keys")
    assert "_table" in imports("_entity")
    # _table imports _entity only for annotations.
    assert "_entity" not in imports("_table")
    # local imports moto lazily, and nothing above itself (_cursor: to count its endpoint as
    # local for cursor secrets).
    assert imports("local") == {"_cursor", "_errors", "_local_items"}


SAMPLE = """
from __future__ import annotations
import os
import dynaorm._keys
from dynaorm._errors import ValidationError
from . import _retry
from ._settings import Settings
from dynaorm import Table
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from dynaorm._entity import Entity
else:
    from dynaorm._indexes import Index
try:
    from dynaorm._schema import x
except ImportError:
    pass
class Thing:
    from dynaorm._translate import translate
def later():
    from dynaorm.local import LocalDynamoDB
"""


def test_the_checker_on_a_sample() -> None:
    expected = {"_keys", "_errors", "_retry", "_settings", "", "_indexes", "_schema", "_translate"}
    assert imports_in(SAMPLE) == expected
    assert imports_in(SAMPLE, module_level=False) == expected | {"local"}
