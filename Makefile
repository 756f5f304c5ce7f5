# One entry point for the dev loop. `make test` sets up .venv when needed, then runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv test test-slow check lint types contracts pytest demo bench bench-quick bench-signing clean \
	lock repo test-appliance

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
# the benchmark harness, the hub restore and box replacement runs); `make test-slow` runs just
# those, and CI (.ci/run) runs both.
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

# The appliance (docs/appliance.md). `make lock` pins every dependency bundled in the .deb, with
# hashes; `make repo` builds the .debs and publishes them to the `pilot` suite of the province's
# signed repository (promote to `stable` with image/build-repo.sh promote); `make
# test-appliance` runs the heavy checks (as root: debootstrap chroot, apt-get from the repository,
# upgrade and rollback, lintian, the nspawn boot), which `make test` leaves out.
# Boxes are arm64, the hub's server amd64: one release, one version, for both.
ARCHES    ?= arm64 amd64
DEB_OUT   ?= dist/debs
REPO_DIR  ?= dist/repo
REPO_URL  ?=
REPO_KEY_ID ?=

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
		--custom-compile-command "make lock" --quiet -o requirements.lock

repo:
	@if [ -z "$(REPO_KEY_ID)" ] || [ -z "$(REPO_URL)" ]; then \
		echo "make repo: set REPO_KEY_ID=<gpg key> REPO_URL=https://<host>/<path> (docs/appliance.md)"; \
		exit 2; fi
	mkdir -p $(DEB_OUT)
	gpg --batch --armor --export "$(REPO_KEY_ID)" >$(DEB_OUT)/commune-archive-key.asc
	set -e; version=$$(image/build-deb.sh --print-version); debs=; \
	for arch in $(ARCHES); do \
		debs="$$debs $$(COMMUNE_DEB_VERSION=$$version image/build-deb.sh --arch $$arch \
			--out $(DEB_OUT) --repo-url "$(REPO_URL)" \
			--repo-key $(DEB_OUT)/commune-archive-key.asc)"; \
	done; \
	box=$$(printf '%s\n' $$debs | grep '_all\.deb$$' | head -n1); \
	image/build-repo.sh --repo $(REPO_DIR) --key "$(REPO_KEY_ID)" publish \
		$$(printf '%s\n' $$debs | grep -v '_all\.deb$$') $$box

test-appliance: $(STAMP)
	COMMUNE_APPLIANCE_TESTS=1 $(BIN)/pytest -q -rs -p no:cacheprovider --durations=0 tests/appliance

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
