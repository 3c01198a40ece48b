# leadgen — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: venv shell demo test lint pytest bench seeds clean server

venv: $(STAMP)

# Rebuilt whenever the pins change (stale venv) or it is missing.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=24'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/leadgen demo

# One persistent local Prefect server (.leadgen/prefect); `leadgen server stop` stops it.
server: $(STAMP)
	$(BIN)/leadgen server start

# A shell with leadgen, dbt and prefect on PATH (the same as `source .venv/bin/activate`).
shell: $(STAMP)
	@echo "leadgen, dbt and prefect from $(VENV) are on PATH; 'exit' leaves this shell"
	@VIRTUAL_ENV="$(CURDIR)/$(VENV)" PATH="$(CURDIR)/$(BIN):$$PATH" $${SHELL:-/bin/bash} -i

lint: $(STAMP)
	$(BIN)/ruff check flows tests scripts bench
	$(BIN)/sqlfluff lint models macros tests/dbt analyses --processes 2

pytest: $(STAMP)
	$(BIN)/pytest

test: lint pytest

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

seeds: $(STAMP)
	$(BIN)/python scripts/derive_region_seeds.py

clean:
	-$(BIN)/leadgen server stop
	-$(BIN)/leadgen db stop
	rm -rf .leadgen target logs reports
