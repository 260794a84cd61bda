# One entry point for every routine task. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run test lint format migrate bench services

install: $(BIN)/assistants-admin

$(BIN)/assistants-admin: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

services:
	@deploy/check-services.sh

run: install services
	@deploy/run-local.sh

test: install services
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install services
	$(BIN)/assistants-admin migrate

# `--quick` fits the 15-minute budget on a shared 2-core machine; `make bench BENCH_ARGS=` runs
# the full plan (more items per figure).
BENCH_ARGS ?= --quick
bench: install services
	$(BIN)/python -m bench.run $(BENCH_ARGS)
