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


def test_the_public_names_are_listed_once() -> None:
    # dynaorm/api/public.py is the one list of public names: only ``from m import X as X``
    # imports (``as`` marks a re-export for type checkers), and dynaorm.__all__ is its names.
    from dynaorm.api import public

    tree = ast.parse(Path(public.__file__).read_text())
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert len(imports) == len([n for n in tree.body if not isinstance(n, ast.Expr)])
    assert all(a.asname == a.name for n in imports for a in n.names)
    assert {name for _, name in _imported_names(imports)} == set(dynaorm.__all__)
    # The package's own module imports none of them until one is asked for.
    init = ast.parse(Path(dynaorm.__file__).read_text())
    assert not any(
        isinstance(n, ast.ImportFrom) and n.module == "dynaorm.api.public" for n in init.body
    )
