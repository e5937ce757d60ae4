# Viewbot Guard: `make test` sets everything up and runs the test suite.
SHELL := /bin/bash
VENV ?= .venv
PY ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
        if command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
          command -v $$p; break; fi; done)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test test-kafka lint format bench clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "make: Python 3.11+ is required (python3.11, python3.12 or python3)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test-kafka: $(STAMP)
	bash infra/kafka/run-tests.sh $(BIN)/pytest -m kafka $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
