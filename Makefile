# Bootstrap and everyday commands. Needs only Python 3.11+, pip and make: the first target that
# needs the environment installs uv (pinned) into .tools/, then `uv sync --locked` builds .venv
# from uv.lock (experta's stale pins are overridden in pyproject.toml [tool.uv]).
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PATIENT ?= examples/V16.yaml
export UV_PYTHON_DOWNLOADS := never

.PHONY: consult test test-all lint format bench clean env docs validate

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')"
	@touch $@

env: $(VENV)/.synced ## create or update .venv from uv.lock

consult: $(VENV)/.synced ## consult the knowledge base about PATIENT (default examples/V16.yaml)
	$(VENV)/bin/cramp-expert consult $(PATIENT)

# Tests run in parallel, one process per CPU (pytest-xdist). With CI set (.ci/run sets it) every
# test runs, with the derandomized hypothesis profile; without it, the tests marked slow
# (tests/conftest.py) are left out: `make test-all` runs them too.
TEST_SELECTION = $(if $(filter true 1 yes,$(CI)),,-m "not slow")

test: $(VENV)/.synced ## the test suite in parallel (every test when CI is set; else not the slow ones)
	$(VENV)/bin/python -m pytest -n auto $(TEST_SELECTION)

test-all: $(VENV)/.synced ## every test, slow ones included, in parallel
	$(VENV)/bin/python -m pytest -n auto

lint: $(VENV)/.synced ## ruff (lint and format check) and mypy
	$(VENV)/bin/ruff check cramp_expert tests bench
	$(VENV)/bin/ruff format --check cramp_expert tests bench
	$(VENV)/bin/mypy

validate: $(VENV)/.synced ## check every rule and knowledge file (kb validate)
	$(VENV)/bin/cramp-expert kb validate

docs: $(VENV)/.synced ## regenerate what is generated from the knowledge base (tests fail when stale)
	$(VENV)/bin/cramp-expert kb docs -o docs/rules.md
	$(VENV)/bin/cramp-expert kb docs --problems -o docs/problems.md
	$(VENV)/bin/cramp-expert kb schema rule -o schemas/rule.schema.json
	$(VENV)/bin/cramp-expert kb schema patient -o schemas/patient.schema.json

format: $(VENV)/.synced
	$(VENV)/bin/ruff format cramp_expert tests bench
	$(VENV)/bin/ruff check --fix cramp_expert tests bench

bench: $(VENV)/.synced ## the benchmark: prints every figure, writes bench/results.json (minutes)
	$(VENV)/bin/python bench/benchmark.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis
