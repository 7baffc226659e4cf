# flowgex developer tasks. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: help install build-dev build-prod lint lint-imports test test-rust test-python bench demo clean chromium

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-12s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY) ## Create .venv and install flowgex (release build) with test extras
	$(PIP) install -q ".[test]"

build-dev: $(PY) ## Editable debug build into .venv (fast compile)
	$(PIP) install -q maturin
	$(VENV)/bin/maturin develop -q --profile dev --extras test

build-prod: $(PY) ## Editable release build into .venv
	$(PIP) install -q maturin
	$(VENV)/bin/maturin develop -q --release --extras test

lint: ## cargo fmt --check, clippy -D warnings, ruff, mypy stubtest
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/lint-imports
	$(PY) -m mypy.stubtest flowgex._core

test-rust: ## Rust unit tests and proptests (core crate)
	cargo test -p flowgex-core --release

lint-imports: ## The package's layer contracts (import-linter, pyproject.toml [tool.importlinter])
	$(VENV)/bin/lint-imports

test-python: lint-imports ## The layer contracts, then the Python suite (property, real-data, API)
	$(PY) -m pytest -q

chromium: ## Install Debian's Chromium for the browser tests when missing (root or sudo)
	bash .ci/install-chromium

test: install chromium test-rust test-python ## Install everything and run all the tests (what CI runs)
	$(PY) -m mypy.stubtest flowgex._core

bench: install ## Benchmarks: pytest-benchmark side by side, then criterion
	$(PY) -m pytest benches -q --benchmark-enable --benchmark-only
	cargo bench -p flowgex-core

demo: install ## Run the demo on the built-in simulated market
	$(VENV)/bin/flowgex demo

clean: ## Remove build outputs and the venv
	rm -rf target $(VENV) .pytest_cache .hypothesis python/flowgex/*.so
