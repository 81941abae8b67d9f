# Two set-up commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE ?= multi_file_load

.PHONY: run try test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

# The whole stack on SQLite ($$HEADWATER_HOME, default ~/.headwater) with the examples loaded
# and one triggered; Ctrl-C stops it. `make try` runs the example once in-process instead.
run: $(VENV)/.installed
	HEADWATER_DAGS_FOLDER=examples $(BIN)/headwater standalone --trigger $(EXAMPLE)

try: $(VENV)/.installed
	HEADWATER_DAGS_FOLDER=examples $(BIN)/headwater dags test $(EXAMPLE)

# Test processes: the CPUs, and at least 3: many tests wait on real processes and servers,
# so on 2 CPUs a third worker fills the waits (a quarter off the suite's time).
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -lt 3 ] && echo 3 || echo "$$n")

# The sources are compiled first: the suite starts hundreds of headwater processes, and where
# PYTHONDONTWRITEBYTECODE is set (CI's images) each would compile every module it imports.
test: $(VENV)/.installed-dev
	$(BIN)/python -m compileall -q -j 0 src
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/dags_test_overhead.py

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
