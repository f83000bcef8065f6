# Shuttle: `make run` serves on http://127.0.0.1:8080 (SQLite and keys under ./var);
# `make test` runs every test on SQLite, then on PostgreSQL when a server is reachable.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := web/static/.built

.PHONY: all setup run test test-deep test-browser bench lint format migration translations clean screening-report audit lock crash-test

all: test

# The virtualenv is (re)built only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The pages' CSS and scripts, compiled from the pinned npm packages in web/assets.
$(ASSETS): $(STAMP) web/assets/package-lock.json $(wildcard web/assets/scss/*.scss web/assets/js/*)
	VENV=$(VENV) scripts/build-assets
	touch $@

setup: $(STAMP) $(ASSETS)
	scripts/install-pdf-tools

# Options for serve: make run ARGS="--port 8081"
run: setup
	$(BIN)/shuttle serve $(ARGS)

# Extra pytest arguments: make test PYTEST_ARGS="-x -k relay"
# The browser tests need Debian's chromium: installed here when we can (root or sudo); setup
# installs Debian's Pango (records.pdf) and poppler-utils (its test) the same way.
test: setup
	scripts/install-browser
	PYTEST_ARGS="$(PYTEST_ARGS)" scripts/test-all

# The stateful leak test at depth: 10,000 runs on SQLite, then on PostgreSQL when a server
# answers (hours; not run by CI). More or fewer: make test-deep DEEP_EXAMPLES=50000
DEEP_EXAMPLES ?= 10000
DEEP_POSTGRES ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
test-deep: setup
	SHUTTLE_TEST_STATEFUL_EXAMPLES=$(DEEP_EXAMPLES) SHUTTLE_TEST_STATEFUL_STATS=1 \
		$(BIN)/pytest -q -s tests/test_leaks_stateful.py -k no_one_sees $(PYTEST_ARGS)
	if $(BIN)/python -c "import asyncio, asyncpg; asyncio.run(asyncpg.connect('$(DEEP_POSTGRES)'.replace('+asyncpg', '')))" 2>/dev/null; then \
		SHUTTLE_TEST_DATABASE_URL=$(DEEP_POSTGRES) SHUTTLE_TEST_STATEFUL_EXAMPLES=$(DEEP_EXAMPLES) \
		SHUTTLE_TEST_STATEFUL_STATS=1 $(BIN)/pytest -q -s tests/test_leaks_stateful.py -k no_one_sees $(PYTEST_ARGS); \
	else echo "test-deep: no PostgreSQL at $(DEEP_POSTGRES): SQLite only"; fi

# Known vulnerabilities in the locked dependencies (requirements.lock). --strict: a package
# that cannot be checked fails the audit instead of passing unchecked (docs/security.md).
audit: $(STAMP)
	$(BIN)/python scripts/audit-dependencies

# Pin every package of the development environment (after changing pyproject.toml).
lock: $(STAMP)
	{ echo "# Every package of the development environment, pinned: make lock; audited: make audit."; \
	  $(BIN)/pip freeze --exclude-editable --all | grep -v '^shuttle==' | sort -f; } > requirements.lock

# Just the browser tests, on SQLite (screenshots in test-artifacts/screenshots).
test-browser: setup
	scripts/install-browser
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

# Extract the words to translate and update the Welsh catalogue; then translate the new
# entries in web/locale/cy/LC_MESSAGES/messages.po (tests/test_translations.py checks).
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output \
		--project=Shuttle --copyright-holder="Shuttle contributors" \
		-o web/locale/messages.pot .
	test -f web/locale/cy/LC_MESSAGES/messages.po \
		|| $(BIN)/pybabel -q init -i web/locale/messages.pot -d web/locale -l cy
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete \
		-i web/locale/messages.pot -d web/locale -l cy

lint: $(STAMP)
	$(BIN)/ruff check shuttle tests bench
	$(BIN)/ruff format --check shuttle tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix shuttle tests bench
	$(BIN)/ruff format shuttle tests bench

# Screening's precision and recall per kind of flag over the labelled corpus in tests/screening
# (its speed: scripts/bench-screening, kept out of the test suite).
# The relay cycle over HTTP against the machine's floor, start-up and screening times:
#   make bench BENCH_ARGS="--seconds 20 --concurrency 1,16,64"
bench: setup
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# kill -9 of the server under the benchmark's load, 25 times; fails if an acknowledged write
# is lost (test-artifacts/crash.json). More: make crash-test CRASH_ARGS="--rounds 100"
crash-test: setup
	$(BIN)/python -m bench.crash $(CRASH_ARGS)

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

# Caches only: ./var (your local database and keys) and .venv are left alone.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts build *.egg-info
	find shuttle tests -name __pycache__ -type d -prune -exec rm -rf {} +
