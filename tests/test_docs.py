"""Every Python sample in docs/ runs, so the documentation cannot drift from the code.

Each Markdown file under ``docs/`` is one test. Its fenced blocks whose info string is exactly
``python`` run in order, in one namespace, like the cells of a notebook; the assertions in the
samples (results shown as ``assert order.version == 2``) are what the test checks. Other blocks
are not run:

* ```` ```python pytest ```` — a whole pytest test module, as a user would write one with the
  dynaorm plugin's fixtures. Each such block is written to a file and run by pytest in a
  subprocess, against the same server (``DYNAORM_TEST_ENDPOINT``); it must not fail.
* ```` ```python no-run ```` — Python that must not run here (it needs real AWS, runs
  forever, or is a fragment of a larger program); it is still compiled, so it stays valid
  Python.
* ```` ```sh ````, ```` ```text ````, ```` ```toml ```` ... — anything that is not Python.

In the samples, a ``try`` statement with ``except`` clauses shows an error dynaorm raises: the
test adds ``else: raise AssertionError`` to every such statement that has no ``else`` of its
own, so a sample cannot pass when the error it demonstrates is not raised.

A file may declare the server features its samples need in an HTML comment, e.g.
``<!-- doc-test: requires transactions, return_values_on_condition_failure -->``; the file's
test then carries ``@pytest.mark.requires(...)`` and is skipped on servers without them.

The samples run against the session's server (the ``dynamodb_endpoint`` fixture: the
embedded one, or ``DYNAORM_TEST_ENDPOINT``). Every ``Table`` a sample defines gets a unique
physical name (a random suffix), and is deleted when the file's test ends, so runs against a
shared server do not collide. dynaorm's global settings, the level of the ``dynaorm`` logger
and the environment are restored after each file, so samples may change them freely.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import dynaorm
from dynaorm import ConfigurationError, Table
from dynaorm.testing import unique_table_name

DOCS = Path(__file__).resolve().parent.parent / "docs"
# Figures written by the benchmark run, no samples.
EXCLUDED = {"benchmarks.md"}
EXPECTED = {
    "index.md",
    "modeling.md",
    "queries.md",
    "writes.md",
    "async.md",
    "batches-and-transactions.md",
    "testing.md",
    "configuration.md",
    "limits.md",
    "streams.md",
    "json.md",
}

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
REQUIRES = re.compile(r"<!--\s*doc-test:\s*requires\s+([^>]*?)\s*-->")
RUN, NO_RUN, PYTEST = "python", "python no-run", "python pytest"


@attrs.frozen
class Block:
    info: str
    code: str
    line: int


def blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, with the line its code starts on."""
    return [
        Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start(2)) + 1)
        for m in FENCE.finditer(text)
    ]


def doc_files() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if p.name not in EXCLUDED)


def doc_params(kind: str | None = None) -> list[Any]:
    """A parameter per doc file (with its ``requires`` marks); with ``kind``, only the files
    that have blocks of that kind."""
    params = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        if kind is not None and not any(b.info == kind for b in blocks(text)):
            continue
        features = REQUIRES.search(text)
        marks = []
        if features:
            names = [f.strip() for f in features.group(1).split(",") if f.strip()]
            marks.append(pytest.mark.requires(*names))
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


def test_expected_docs_exist() -> None:
    assert {p.name for p in doc_files()} >= EXPECTED


@pytest.mark.parametrize("path", doc_params())
def test_python_info_strings_are_known(path: Path) -> None:
    """A typo such as ```` ```python norun ```` must not silently stop a sample from running."""
    for block in blocks(path.read_text(encoding="utf-8")):
        if block.info.startswith("python") or block.info in ("py", "pycon"):
            assert block.info in (RUN, NO_RUN, PYTEST), f"{path.name}:{block.line}: {block.info!r}"
        if block.info in (NO_RUN, PYTEST):
            compile(block.code, f"{path.name}:{block.line}", "exec")


class _ExpectRaise(ast.NodeTransformer):
    """Add ``else: raise AssertionError(...)`` to ``try``/``except`` statements without one."""

    def __init__(self, where: str) -> None:
        self.where = where

    def visit_Try(self, node: ast.Try) -> ast.Try:
        self.generic_visit(node)
        if node.handlers and not node.orelse:
            caught = ", ".join(ast.unparse(h.type) for h in node.handlers if h.type is not None)
            message = f"{self.where}:{node.lineno}: expected {caught or 'an exception'}"
            node.orelse = [
                ast.Raise(
                    ast.Call(ast.Name("AssertionError", ast.Load()), [ast.Constant(message)], [])
                )
            ]
            ast.fix_missing_locations(node)
        return node


def compile_sample(path: Path, block: Block) -> Any:
    # Line numbers in tracebacks point into the Markdown file.
    source = "\n" * (block.line - 1) + block.code
    tree = _ExpectRaise(path.name).visit(ast.parse(source, str(path)))
    return compile(tree, str(path), "exec")


@pytest.fixture
def unique_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Table]]:
    """Give every Table defined while the test runs a unique name; delete them all after."""
    made: list[Table] = []
    original = Table.__init__

    def init(self: Table, name: str, **kwargs: Any) -> None:
        original(self, unique_table_name(name), **kwargs)
        made.append(self)

    monkeypatch.setattr(Table, "__init__", init)
    yield made
    monkeypatch.undo()
    for table in made:
        # A sample may define tables with deliberately broken settings; those were never made.
        with contextlib.suppress(ConfigurationError):
            table.delete(missing_ok=True, wait=False)


@pytest.fixture
def restored_settings() -> Iterator[None]:
    """Put dynaorm's global settings, its logger's level and the environment back."""
    settings = dynaorm.configure()
    environment = dict(os.environ)
    logger = logging.getLogger("dynaorm")
    level = logger.level
    yield
    logger.setLevel(level)
    dynaorm.configure(**attrs.asdict(settings))
    os.environ.clear()
    os.environ.update(environment)


@pytest.mark.parametrize("path", doc_params(RUN))
def test_samples_run(
    path: Path,
    dynamodb_endpoint: str,
    restored_settings: None,
    unique_tables: list[Table],
) -> None:
    runnable = [b for b in blocks(path.read_text(encoding="utf-8")) if b.info == RUN]
    namespace: dict[str, Any] = {"__name__": f"docs_{path.stem.replace('-', '_')}"}
    for block in runnable:
        try:
            exec(compile_sample(path, block), namespace)
        except BaseException as exc:
            exc.add_note(f"in the sample at {path.name}:{block.line}")
            raise


@pytest.mark.parametrize("path", doc_params(PYTEST))
def test_pytest_samples_pass(path: Path, dynamodb_endpoint: str, tmp_path: Path) -> None:
    modules = [b for b in blocks(path.read_text(encoding="utf-8")) if b.info == PYTEST]
    for number, block in enumerate(modules):
        (tmp_path / f"test_{path.stem.replace('-', '_')}_{number}.py").write_text(block.code)
    environment = {**os.environ, "DYNAORM_TEST_ENDPOINT": dynamodb_endpoint}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout
