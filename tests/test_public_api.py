"""The public surface: ``dynaorm.__all__`` lists exactly the public names, sorted."""

from __future__ import annotations
import __future__

import importlib.metadata
import inspect
import types
from pathlib import Path

import dynaorm
import dynaorm._errors


def public_names() -> set[str]:
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
        for name, value in vars(dynaorm._errors).items()
        if inspect.isclass(value) and issubclass(value, dynaorm.DynaormError)
    }
    assert errors == set(dynaorm._errors.__all__)
    assert errors <= set(dynaorm.__all__)
    for name in errors:
        assert getattr(dynaorm, name) is getattr(dynaorm._errors, name)


def test_version_matches_the_installed_metadata() -> None:
    assert dynaorm.__version__ == importlib.metadata.version("dynaorm")


def test_star_import() -> None:
    namespace: dict[str, object] = {}
    exec("from dynaorm import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(dynaorm.__all__)


def test_typed_marker_is_shipped() -> None:
    assert (Path(dynaorm.__file__).parent / "py.typed").is_file()
