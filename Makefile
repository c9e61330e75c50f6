# fjernlaan: `make run` starts the hub with demo data; `make test` runs every check.
# Every target creates .venv on its own when it is missing.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: run test test-clock-guard lint bench install install-test system-test-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian packages the tests drive: yaz-client (SRU) and chromium (browser tests).
system-test-deps:
	@scripts/install-system-deps

run: install
	mkdir -p var
	$(BIN)/fjernlaan db upgrade
	$(BIN)/fjernlaan demo
	FJERNLAAN_ISO18626_ALLOW_LOCAL_ENDPOINTS=true $(BIN)/fjernlaan serve

lint: install-test
	$(BIN)/ruff check --no-cache src tests bench
	$(BIN)/ruff format --no-cache --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint system-test-deps
	@PGURL="$$(scripts/test-postgres-url)" || exit 1; \
	if [ -n "$$PGURL" ]; then echo "PostgreSQL tests run against $$PGURL"; \
	else echo "!!! PostgreSQL tests will be SKIPPED: no PostgreSQL server found !!!"; fi; \
	FJERNLAAN_TEST_DATABASE_URL="$$PGURL" $(PY) -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-clock-guard

# The clock guard: the unit and SQLite tests again with the whole process clock moved 400 days and
# 3 years ahead (libfaketime), so a test or code that depends on today's date fails the day it is
# written. PostgreSQL's server clock is not moved, so its tests are left out (no database URL, and
# the `postgresql` parameter deselected); the e2e tests start servers and browsers with timeouts of
# their own and stay out too. FAKETIME_DONT_FAKE_MONOTONIC keeps asyncio's and threads' timers real.
CLOCK_GUARD_TESTS ?= tests/unit tests/integration
# Left out under faketime: it times a parse-worker subprocess's exit after its parent dies, which
# libfaketime in the child delays past the test's wait; it reads no date (it runs in the main suite).
CLOCK_GUARD_DESELECT ?= --deselect tests/unit/catalogue/test_parse_worker.py::test_the_worker_ends_when_the_importer_is_gone
test-clock-guard: install-test system-test-deps
	@command -v faketime >/dev/null || { echo "faketime missing: run scripts/install-system-deps" >&2; exit 1; }
	@for shift in +400d +3y; do \
	  echo "clock guard: unit and SQLite tests with the clock at $$shift"; \
	  env -u FJERNLAAN_TEST_DATABASE_URL FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$$shift" \
	    $(PY) -m pytest -q -n auto --dist loadgroup -k "not postgresql" -m "not postgres" \
	    $(CLOCK_GUARD_DESELECT) $(CLOCK_GUARD_TESTS) || exit 1; \
	done

bench: install-test
	@PGURL="$$(scripts/test-postgres-url)"; \
	FJERNLAAN_BENCH_POSTGRES_URL="$$PGURL" $(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
