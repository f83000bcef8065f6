# Shuttle: `make run` serves on http://127.0.0.1:8080 (SQLite and keys under ./var);
# `make test` runs every test on SQLite, then on PostgreSQL when a server is reachable.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all setup run test lint format migration clean screening-report

all: test

# The virtualenv is (re)built only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(STAMP)

# Options for serve: make run ARGS="--port 8081"
run: $(STAMP)
	$(BIN)/shuttle serve $(ARGS)

# Extra pytest arguments: make test PYTEST_ARGS="-x -k relay"
test: $(STAMP)
	PYTEST_ARGS="$(PYTEST_ARGS)" scripts/test-all

lint: $(STAMP)
	$(BIN)/ruff check shuttle tests
	$(BIN)/ruff format --check shuttle tests
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix shuttle tests
	$(BIN)/ruff format shuttle tests

# Screening's precision and recall per kind of flag over the labelled corpus in tests/screening
# (its speed: scripts/bench-screening, kept out of the test suite).
screening-report: $(STAMP)
	$(BIN)/python scripts/screening-report

# A new migration from the changed models, numbered after the last one:
#   make migration m="add reading receipts"
# Read it through before committing; tests/test_migrations.py checks it against the models.
migration: $(STAMP)
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	@scratch=$$(mktemp -d) \
	&& url="sqlite+aiosqlite:///$$scratch/shuttle.db" \
	&& n=$$(ls shuttle/migrations/versions/*.py | wc -l) \
	&& rev=$$(printf '%04d' $$((n + 1))) \
	&& $(BIN)/alembic -c shuttle/alembic.ini -x url=$$url upgrade head \
	&& $(BIN)/alembic -c shuttle/alembic.ini -x url=$$url revision --autogenerate \
		--rev-id $$rev -m "$(m)"; \
	status=$$?; rm -rf "$$scratch"; exit $$status

# ---------------------------------------------------------------------------------------------
# Browser tests: to come. They will drive Debian's chromium (/usr/bin/chromium, installed by
# the machine's setup, not by this Makefile) against `shuttle serve` on a free port, with their
# own target here (`test-browser`) called from `test` once they exist.
# ---------------------------------------------------------------------------------------------

# Caches only: ./var (your local database and keys) and .venv are left alone.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts build *.egg-info
	find shuttle tests -name __pycache__ -type d -prune -exec rm -rf {} +
