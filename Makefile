# One entry point for the dev loop. `make test` sets up .venv when needed, then runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv test test-slow check lint types contracts pytest demo bench bench-quick bench-signing clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(MAKE) check

check: lint types contracts pytest

lint:
	$(BIN)/ruff check gateway tui tests bench tools

types:
	$(BIN)/mypy

contracts:
	$(BIN)/lint-imports

# The default run leaves out the few tests marked slow (real processes killed dozens of times,
# the benchmark harness); `make test-slow` runs just those, and CI (.ci/run) runs both.
pytest:
	$(BIN)/pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

demo: $(STAMP)
	$(BIN)/gateway demo --profile adsl

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.signing --sizes 0.1,1,10,50

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

bench-signing: $(STAMP)
	$(BIN)/python -m bench.signing --sizes 0.1,1,10,50

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
