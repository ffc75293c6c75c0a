"""The package's layers (docs/architecture.md), checked by parsing the sources.

Every import counts, at module level or inside a function (an import inside a function is a
dependency that runs later, not one that is absent); only imports under ``if TYPE_CHECKING:``
are left out, since they never run. A module may import its own layer and the layers below it,
never one above, with no exceptions, and the whole import graph has no cycle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynaorm

PACKAGE = Path(dynaorm.__file__).parent

# The layers, lowest first. A module's layer is its subpackage, or (for a top-level module)
# its own name; the package ``dynaorm`` itself (its ``__init__``) is above everything.
LAYERS: tuple[str, ...] = (
    "base",
    "expressions",
    "keys",
    "model",
    "wire",
    "read",
    "write",
    "bulk",
    "api",
    "tools",
    "local",
    "faults",
    "pydantic",
    "testing",
    "cli",
)
PACKAGE_LAYER = len(LAYERS)
MAX_LINES = 400


def modules() -> list[str]:
    """Every module of the package, dotted below ``dynaorm`` (``model.entity``, ``cli``).

    A subpackage's ``__init__`` is named by the subpackage (``model``); the package's own
    ``__init__`` is ``""``.
    """
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append(".".join(parts))
    return found


def source_of(module: str) -> Path:
    base = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def layer(module: str) -> int:
    """The rank of ``module``'s layer (the package itself is above every layer)."""
    if not module:
        return PACKAGE_LAYER
    head = module.partition(".")[0]
    if head not in LAYERS:
        raise AssertionError(
            f"dynaorm/{head} is in no layer: add it to LAYERS in tests/test_layers.py and to "
            "the layer table of docs/architecture.md"
        )
    return LAYERS.index(head)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that can run: all of them but the bodies of ``if TYPE_CHECKING:``."""
    pending = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                runs = list(child.orelse)  # only the else branch runs
            else:
                runs = [child]
            yield from runs
            pending.extend(runs)


def _known(module: str) -> bool:
    return module in set(modules())


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute dotted module a ``from ... import`` names (``""`` outside dynaorm)."""
    if node.level:
        package = (
            importer.split(".")
            if source_of(importer).name == "__init__.py"
            else (importer.split(".")[:-1])
        )
        if not importer:
            package = []
        package = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        target = ".".join([*package, *(node.module.split(".") if node.module else [])])
        return "dynaorm" + (f".{target}" if target else "")
    return node.module or ""


def _imports_by_name(call: ast.Call) -> bool:
    """``importlib.import_module(name)`` or ``__import__(name)`` of a dynaorm module: an import
    too."""
    func = call.func
    named = (isinstance(func, ast.Name) and func.id in ("import_module", "__import__")) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )
    if not named or not call.args or not isinstance(call.args[0], ast.Constant):
        return False
    value = call.args[0].value
    return isinstance(value, str) and (value == "dynaorm" or value.startswith("dynaorm."))


def imports_in(source: str, importer: str = "") -> set[str]:
    """The dynaorm modules a module's source imports, dotted below ``dynaorm``.

    ``""`` stands for the package itself (``from dynaorm import Table``).
    """
    found: set[str] = set()
    for node in _nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "dynaorm" or alias.name.startswith("dynaorm."):
                    found.add(alias.name.removeprefix("dynaorm").removeprefix("."))
        elif isinstance(node, ast.Call) and _imports_by_name(node):
            name = node.args[0].value  # type: ignore[attr-defined]
            found.add(name.removeprefix("dynaorm").removeprefix("."))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(importer, node)
            if base != "dynaorm" and not base.startswith("dynaorm."):
                continue
            base = base.removeprefix("dynaorm").removeprefix(".")
            for alias in node.names:
                # ``from dynaorm.model import entity`` imports a module, not a name.
                submodule = f"{base}.{alias.name}" if base else alias.name
                found.add(submodule if _known(submodule) else base)
    return found


def imports(module: str) -> set[str]:
    """:func:`imports_in` for a module of the package."""
    return imports_in(source_of(module).read_text(), module) - {module}


def _upward(module: str) -> list[str]:
    return sorted(
        target or "dynaorm" for target in imports(module) if layer(target) > layer(module)
    )


@pytest.mark.parametrize("module", [m for m in modules() if m])
def test_imports_point_down(module: str) -> None:
    upward = _upward(module)
    assert not upward, (
        f"{source_of(module).relative_to(PACKAGE.parent)} (layer "
        f"{LAYERS[layer(module)]!r}) imports {upward}, above it. Move the code it needs down "
        "into its own layer or lower, or invert the dependency: the higher layer passes in a "
        "function or object, or the lower one calls a method the higher layer defines. The "
        "layers and what each may import: docs/architecture.md."
    )


def _cycle() -> list[str] | None:
    graph = {m: sorted(imports(m)) for m in modules()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in graph.get(node, ()):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in graph:
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, (
        "import cycle: " + " -> ".join(m or "dynaorm" for m in cycle) + ". Move what both "
        "need into a lower module, or invert one of the dependencies (docs/architecture.md)."
    )


@pytest.mark.parametrize("module", modules())
def test_modules_have_one_job_and_stay_short(module: str) -> None:
    lines = len(source_of(module).read_text().splitlines())
    assert lines <= MAX_LINES, (
        f"{source_of(module).relative_to(PACKAGE.parent)} has {lines} lines (at most "
        f"{MAX_LINES}): split it by concept into modules with one job each"
    )


def test_the_bottom_layer_imports_nothing_above_it() -> None:
    for module in modules():
        if module.startswith("base"):
            assert all(t.startswith("base") for t in imports(module)), module


def test_the_layer_table_of_the_architecture_document_is_this_one() -> None:
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    positions = [text.find(f"| `dynaorm.{name}` |") for name in LAYERS]
    assert all(p >= 0 for p in positions), [
        n for n, p in zip(LAYERS, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions), "docs/architecture.md lists the layers out of order"


SAMPLE = """
from __future__ import annotations
import os
import dynaorm.keys.templates
from dynaorm.base.errors import ValidationError
from . import retry
from .transport import Transport
from dynaorm import Table
from dynaorm.model import entity
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from dynaorm.api.entity import Entity
else:
    from dynaorm.model.indexes import Index
try:
    from dynaorm.model.schema import x
except ImportError:
    pass
class Thing:
    from dynaorm.wire.translate import translate
def later():
    from dynaorm.local import LocalDynamoDB
    def deeper():
        import dynaorm.read.query
    importlib.import_module("dynaorm.bulk.files")
    __import__("dynaorm.cli")
"""


def test_the_checker_on_a_sample() -> None:
    assert imports_in(SAMPLE, "wire.probe") == {
        "keys.templates",
        "base.errors",
        "wire.retry",
        "wire.transport",
        "",
        "model.entity",
        "model.indexes",
        "model.schema",
        "wire.translate",
        "local",
        "read.query",
        "bulk.files",
        "cli",
    }


def test_the_checker_finds_cycles_and_upward_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {
        "base.a": "import dynaorm.model.b\n",
        "model.b": "def f():\n    import dynaorm.base.a\n",
    }
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: sorted(fake))
    monkeypatch.setattr(sys.modules[__name__], "imports", lambda m: imports_in(fake[m], m))
    assert _upward("base.a") == ["model.b"]
    assert _cycle() in (["base.a", "model.b", "base.a"], ["model.b", "base.a", "model.b"])
