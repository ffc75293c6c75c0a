"""The public surface: ``dynaorm.__all__`` lists exactly the public names, sorted."""

from __future__ import annotations
import __future__

import ast
import importlib.metadata
import inspect
import types
from pathlib import Path

import dynaorm
import dynaorm.base.errors


def public_names() -> set[str]:
    dynaorm.Table  # noqa: B018 -- the package imports lazily; the first public name loads all
    return {
        name
        for name, value in vars(dynaorm).items()
        if not name.startswith("_")
        # Submodules appear once imported; ``from __future__`` imports are not exports.
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }


def test_all_is_sorted() -> None:
    assert dynaorm.__all__ == sorted(dynaorm.__all__)
    assert len(dynaorm.__all__) == len(set(dynaorm.__all__))


def test_all_lists_exactly_the_public_names() -> None:
    assert set(dynaorm.__all__) == public_names()


def test_every_error_is_exported() -> None:
    errors = {
        name
        for name, value in vars(dynaorm.base.errors).items()
        if inspect.isclass(value) and issubclass(value, dynaorm.DynaormError)
    }
    assert errors == set(dynaorm.base.errors.__all__)
    assert errors <= set(dynaorm.__all__)
    for name in errors:
        assert getattr(dynaorm, name) is getattr(dynaorm.base.errors, name)


def test_version_matches_the_installed_metadata() -> None:
    assert dynaorm.__version__ == importlib.metadata.version("dynaorm")


def test_star_import() -> None:
    namespace: dict[str, object] = {}
    exec("from dynaorm import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(dynaorm.__all__)


def test_typed_marker_is_shipped() -> None:
    assert (Path(dynaorm.__file__).parent / "py.typed").is_file()


def _imported_names(nodes: list[ast.stmt]) -> set[tuple[str, str]]:
    return {
        (node.module or "", alias.asname or alias.name)
        for node in nodes
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_the_lazy_imports_match_the_typed_ones() -> None:
    # dynaorm/__init__.py lists its imports twice: for type checkers (under TYPE_CHECKING)
    # and in _load(), which runs on first use. Both must name the same things.
    tree = ast.parse(Path(dynaorm.__file__).read_text())
    typed = next(
        n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
    )
    load = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_load")
    assert _imported_names(typed.body) == _imported_names(load.body)
    assert {name for _, name in _imported_names(load.body)} == set(dynaorm.__all__)
