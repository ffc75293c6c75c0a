# dynaorm developer commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint format test test-dynalite demo bench stress clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP) $(DEMO_STAMP)

# The demo needs only the embedded server (the `local` extra), not the linters and type checkers;
# pip's own progress is shown, since a first install takes a while.
DEMO_STAMP := $(VENV)/.installed-local

$(DEMO_STAMP): pyproject.toml setup.cfg
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make demo: installing dynaorm with its embedded server into $(VENV) (first run only)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -e '.[local]'
	touch $(DEMO_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check dynaorm tests examples
	$(BIN)/ruff format --check dynaorm tests examples
	$(BIN)/mypy --strict dynaorm

format: $(STAMP)
	$(BIN)/ruff format dynaorm tests examples
	$(BIN)/ruff check --fix dynaorm tests examples

# The suite runs on the default, lean transport; the wire, write, bulk and API tests run again
# on the botocore transport (transport="botocore").
BOTOCORE_PART := tests/wire tests/write tests/bulk tests/api tests/asyncio

test: lint
	$(BIN)/python -m pytest -m "not stress"
	DYNAORM_TRANSPORT=botocore $(BIN)/python -m pytest -m "not stress" -q $(BOTOCORE_PART)

# The suite again on dynalite, a second, independent implementation (needs Node.js and npm).
DYNALITE := .dynalite/node_modules/.bin/dynalite

$(DYNALITE):
	@command -v npm >/dev/null || { echo "make test-dynalite needs Node.js and npm" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .dynalite dynalite@4

test-dynalite: $(STAMP) $(DYNALITE)
	$(BIN)/python scripts/with_dynalite.py $(DYNALITE) -- $(BIN)/python -m pytest -m "not stress"

# Benchmarks: writes docs/benchmarks.md and bench/results.json. Also on dynalite when npm is
# available (`--quick` for a fast smoke run: `$(BIN)/python -m bench --quick`).
bench: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(DYNALITE) || true; fi
	$(BIN)/python -m bench

# Heavier contention and fault runs, bounded: fixed counts, and the whole run killed after 15 min.
stress: $(STAMP)
	timeout 900 $(BIN)/python -m pytest -m stress

demo: $(DEMO_STAMP)
	$(BIN)/python -m examples.quickstart
	$(BIN)/python -m examples.ecommerce

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
