"""Every reference in the project's prose points at something that exists.

The prose is the comments and docstrings of the Python files (the package, the examples, the
tests, the benchmarks and scripts) and the Markdown files (README.md, docs/, examples/). In it:

* every dotted name ``dynaorm.x.y`` (or ``examples.x.y``) resolves to a module, or to an
  attribute of one (a class's instance attributes count when the class declares them);
* every repository path (``dynaorm/…``, ``tests/…``, ``docs/…``, ``examples/…``, ``bench/…``,
  ``scripts/…``) names a file or directory that exists, and a ``path::test_name`` (or a
  ``::test_name`` after such a path on the same line) a function or class in that file;
  Markdown's fenced code blocks are left out of this check, since they show users' own files;
* every relative Markdown link leads to a file of the repository.

And in any text file of the repository, code included: no name of the flat modules the package
was split from (``dynaorm/_table.py``, ``dynaorm._entity``, ``_entity.py``: the layers are in
docs/architecture.md), no relative path that leaves the repository (a design document outside
it, for instance), and no absolute path of a developer's machine.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import io
import os
import re
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DIRS = ("dynaorm", "examples", "tests", "bench", "scripts")
SKIPPED_DIRS = {
    *(".git", ".venv", "node_modules", "__pycache__", ".dynalite", ".hypothesis"),
    *(".pytest_cache", ".mypy_cache", ".ruff_cache", "build", "dist"),
}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".txt", ".yml", ".yaml", ".ini", ".sh"}
TEXT_NAMES = {"Makefile"}
THIS = Path(__file__).resolve()

DOTTED = re.compile(r"(?<![\w.])(?:dynaorm|examples)(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(
    r"(?<![\w./-])((?:dynaorm|tests|docs|examples|bench|scripts)/[\w./*-]*[\w*])(?:::(\w+))?"
)
LATER_TEST = re.compile(r"(?<![\w/.:])::(\w+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")
OUTSIDE = re.compile(r"(?<![\w.])(?:\.\./)+[\w.-][\w./-]*")
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:work|home|Users)/[\w.-]+")
# The design document outside the repository that comments used to point to.
OUTSIDE_DOCUMENT = re.compile(r"\bDESIGN\.md\b")

# The flat modules of dynaorm before it was split into layered subpackages.
_FLAT = (
    "batch_get|batch_write|batching|bulk|changes|class_cache|collection|cursor|decode|entity|"
    "entity_keys|entity_writes|errors|expressions|fault_plan|index_sync|indexes|json|key_range|"
    "keys|layout|limits|loader|local_items|mutate|paging|probe|query|rate|read_ahead|"
    "read_support|retry|scan|scan_runner|schema|settings|streams|table|threads|timestamps|"
    "transact_get|transaction_parts|transactions|translate|transport|updates|values|"
    "write_ledger|writes"
)
FLAT_NAME = re.compile(rf"dynaorm[./]_(?:{_FLAT})\b|(?<![\w/.])_(?:{_FLAT})\.py\b")


# -- what is read --------------------------------------------------------------------------


def _walk(top: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            yield Path(folder) / name


def python_files() -> list[Path]:
    return [
        p
        for top in PYTHON_DIRS
        if (ROOT / top).is_dir()
        for p in _walk(ROOT / top)
        if p.suffix == ".py"
    ]


def markdown_files() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found += [p for p in _walk(ROOT / "examples") if p.suffix == ".md"]
    return [p for p in found if p.is_file()]


def text_files() -> list[Path]:
    return [
        p
        for p in _walk(ROOT)
        if (p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES) and p.resolve() != THIS
    ]


def python_prose(path: Path) -> Iterator[tuple[int, str]]:
    """The comments and the docstrings (any string statement) of a Python file, line by line."""
    text = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(text)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for offset, line in enumerate(node.value.value.splitlines()):
                yield node.value.lineno + offset, line


def markdown_prose(path: Path, *, code: bool) -> Iterator[tuple[int, str]]:
    """The lines of a Markdown file; without ``code``, those outside fenced blocks only."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if code or not fenced:
            yield number, line


def prose(*, code_blocks: bool) -> Iterator[tuple[Path, int, str]]:
    """The prose of every Python and Markdown file but this one (which quotes what it refuses)."""
    for path in python_files():
        if path.resolve() == THIS:
            continue
        for number, line in python_prose(path):
            yield path, number, line
    for path in markdown_files():
        for number, line in markdown_prose(path, code=code_blocks):
            yield path, number, line


def where(path: Path, number: int) -> str:
    return f"{path.relative_to(ROOT)}:{number}"


# -- resolving names -----------------------------------------------------------------------


def _module_prefix(parts: list[str]) -> tuple[Any, int]:
    """The longest leading run of ``parts`` that names a module, imported, and its length."""
    for length in range(len(parts), 0, -1):
        name = ".".join(parts[:length])
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a parent that is a module, not a package
            spec = None
        if spec is not None:
            return importlib.import_module(name), length
    return None, 0


def _declares(cls: type, name: str) -> bool:
    """Whether ``cls`` declares an instance attribute ``name`` (annotated, an attrs field, a
    slot, assigned to ``self`` in its source, or listed under "Attributes:" in a docstring)."""
    for klass in cls.__mro__:
        if name in getattr(klass, "__annotations__", {}) or name in getattr(klass, "__slots__", ()):
            return True
        if attrs.has(klass) and name in attrs.fields_dict(klass):
            return True
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if re.search(rf"\bself\.{name}\s*(?::[^=]*)?=[^=]", source):
            return True
        if re.search(rf"^\s+{name}( \(.*\))?:", inspect.getdoc(klass) or "", re.MULTILINE):
            return True
    return False


@functools.cache
def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    target, length = _module_prefix(parts)
    if target is None:
        return False
    for name in parts[length:]:
        if not hasattr(target, name):
            # An instance attribute ends the check: there is nothing further on the class.
            return inspect.isclass(target) and _declares(target, name)
        target = getattr(target, name)
    return True


def test_the_resolver_tells_names_that_exist_from_names_that_do_not() -> None:
    for good in (
        "dynaorm",
        "dynaorm.Table",
        "dynaorm.Table.override",
        "dynaorm.write.mutate",
        "dynaorm.write.mutate.retry_on_conflict",
        "dynaorm.ServiceError.request_id",  # set in __init__
        "dynaorm.BatchProgress.done",  # an attrs field
        "examples.ecommerce.models.shop",
    ):
        assert resolves(good), good
    for bad in (
        "dynaorm.nothing",
        "dynaorm.write.nothing",
        "dynaorm.write.mutate.nothing",
        "dynaorm.Table.nothing",
        "dynaorm._entity",
        "examples.nothing",
    ):
        assert not resolves(bad), bad


def test_every_dotted_name_resolves() -> None:
    unresolved = sorted(
        {
            f"{where(path, number)}: {name}"
            for path, number, line in prose(code_blocks=True)
            for name in DOTTED.findall(line)
            if not resolves(name)
        }
    )
    assert unresolved == [], "names of modules or attributes that do not exist:\n" + "\n".join(
        unresolved
    )


# -- paths ---------------------------------------------------------------------------------


def _defines(path: Path, name: str) -> bool:
    text = path.read_text(encoding="utf-8")
    return re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b", text, re.MULTILINE) is not None


def path_problems(path: Path, number: int, line: str) -> Iterator[str]:
    """What a line names that does not exist: paths, ``path::test``, and a later ``::test``
    (of the nearest Python file named before it on the line)."""
    files: list[tuple[int, int, Path | None]] = []  # (start, end, the file if Python)
    for found in PATH.finditer(line):
        text, test = found.group(1).rstrip("."), found.group(2)
        target = ROOT / text
        python = target if target.suffix == ".py" and target.is_file() else None
        files.append((*found.span(), python))
        if "*" in text:
            if not list(ROOT.glob(text)):
                yield f"{where(path, number)}: {text} matches no file"
        elif not target.exists():
            yield f"{where(path, number)}: {text} does not exist"
        elif python is not None and test is not None and not _defines(python, test):
            yield f"{where(path, number)}: {text} has no {test}"
    for found in LATER_TEST.finditer(line):
        before = [f for f in files if f[0] <= found.start()]
        if not before or before[-1][1] > found.start():
            continue  # no path before it, or part of a path::test already checked
        python = before[-1][2]
        if python is not None and not _defines(python, found.group(1)):
            yield f"{where(path, number)}: {python.relative_to(ROOT)} has no {found.group(1)}"


def test_every_repository_path_exists() -> None:
    problems = sorted(
        {
            problem
            for path, number, line in prose(code_blocks=False)
            for problem in path_problems(path, number, line)
        }
    )
    assert problems == [], "paths that do not exist:\n" + "\n".join(problems)


def link_problems(path: Path, number: int, line: str) -> Iterator[str]:
    for target in LINK.findall(line):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on the same page
        file = (path.parent / target.split("#", 1)[0]).resolve()
        if not file.is_relative_to(ROOT) or not file.exists():
            yield f"{where(path, number)}: the link {target} leads nowhere in the repository"


def test_every_relative_markdown_link_leads_to_a_file_of_the_repository() -> None:
    problems = [
        problem
        for path in markdown_files()
        for number, line in markdown_prose(path, code=False)
        for problem in link_problems(path, number, line)
    ]
    assert problems == [], "\n".join(problems)


# -- names and places that must not appear at all ------------------------------------------


def lines_matching(pattern: re.Pattern[str], files: Iterable[Path]) -> list[str]:
    return [
        f"{where(path, number)}: {found.group(0)}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for found in pattern.finditer(line)
    ]


def test_the_checks_see_what_they_look_for() -> None:
    assert FLAT_NAME.search("see dynaorm/_table.py") is not None
    assert FLAT_NAME.search("from dynaorm._entity import Entity") is not None
    assert FLAT_NAME.search("the code in _entity.py does") is not None
    assert FLAT_NAME.search("dynaorm/model/entity.py and examples/ecommerce/_contention.py") is None
    assert OUTSIDE.search("(the design: ../shared/DESIGN.md)") is not None
    assert OUTSIDE_DOCUMENT.search("see DESIGN.md, section 3") is not None
    # (built from parts, so this file holds no path of a machine itself)
    assert MACHINE_PATH.search("run " + "/".join(["", "home", "someone", "venv"])) is not None
    assert MACHINE_PATH.search("~/.aws/config") is None
    assert LATER_TEST.findall("`tests/x.py::test_a` and `::test_b`") == ["test_b"]
    line = "`tests/test_layers.py::test_a`, `::test_b`; `tests/test_docs.py` and `::test_c`"
    assert [p.split(": ", 1)[1] for p in path_problems(THIS, 1, line)] == [
        "tests/test_layers.py has no test_a",
        "tests/test_layers.py has no test_b",
        "tests/test_docs.py has no test_c",
    ]


def test_no_file_names_the_flat_modules_the_package_was_split_from() -> None:
    found = lines_matching(FLAT_NAME, text_files())
    assert found == [], "the flat modules are gone (docs/architecture.md has the layers):\n" + (
        "\n".join(found)
    )


def test_no_file_points_outside_the_repository() -> None:
    outside = []
    for path in text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for found in OUTSIDE.finditer(line):
                target = (path.parent / found.group(0)).resolve()
                if not target.is_relative_to(ROOT):
                    outside.append(f"{where(path, number)}: {found.group(0)}")
    elsewhere = lines_matching(MACHINE_PATH, text_files())
    if not (ROOT / "DESIGN.md").exists():
        elsewhere += lines_matching(OUTSIDE_DOCUMENT, text_files())
    assert outside + elsewhere == [], (
        "paths outside the repository (the design is docs/architecture.md):\n"
        + "\n".join(outside + elsewhere)
    )
