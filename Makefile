# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed from here.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit soak bench clean api-types

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/qari serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	@bash scripts/services-up.sh
	@bash scripts/browser-up.sh
	$(MAKE) --no-print-directory lint typecheck
	@# Two workers (2-core machine), whole files per worker; browser tests alone and last: Playwright's
	@# sync API leaves an event loop marked running, which breaks async tests collected after it.
	$(BIN)/pytest -q -p no:randomly -n 2 --dist loadfile tests/unit tests/integration tests/contract tests/acceptance
	$(BIN)/pytest -q -p no:randomly tests/browser

# The dashboard's JSDoc types from /openapi.json (a unit test fails while they are out of date).
api-types: $(STAMP)
	$(BIN)/python -m qari.web.dashboard.api_types

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

soak: $(STAMP)
	@bash scripts/services-up.sh
	$(BIN)/pytest -q -m soak

bench: $(STAMP)
	$(BIN)/python benchmarks/scan.py
	$(BIN)/python benchmarks/sandbox.py
	$(BIN)/python benchmarks/backtest.py
	$(BIN)/python benchmarks/cycle.py
	$(BIN)/python benchmarks/web_load.py

clean:
	rm -rf $(VENV) var test-artifacts
