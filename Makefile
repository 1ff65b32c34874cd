# fireform: every set-up step lives here, so a fresh machine needs only `make demo` / `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FIREFORM_DATA ?= $(abspath ../shared/data)
export FIREFORM_DATA
JOBS ?= 2

.PHONY: demo test test-slow test-llm lint bench system-deps venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamp files so an unchanged pyproject.toml does not reinstall.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# The test extras without the local-model runtime (llama-cpp-python compiles for minutes):
# `make test` stays fast on a fresh machine; `make test-llm` adds the runtime.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,conformance,llm]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-llm: pyproject.toml $(VENV)/.installed-test
	$(BIN)/pip install -q -e '.[test,conformance,llm,llm-local]'
	touch $@

venv: $(VENV)/.installed

# Debian packages: gfortran (Fortran export round trip) and chromium (report check).
system-deps:
	@missing=""; \
	command -v gfortran >/dev/null || missing="$$missing gfortran"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(VENV)/.installed system-deps
	$(BIN)/fireform demo

test: $(VENV)/.installed-test system-deps
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow" tests

# The layer contract (import-linter), ruff and mypy on src/.
lint: $(VENV)/.installed-test
	$(BIN)/lint-imports
	$(BIN)/ruff check src
	$(BIN)/mypy

test-slow: $(VENV)/.installed-test system-deps
	$(BIN)/python -m pytest -n $(JOBS) -m "slow" tests

# The slow LLM-path tests (local Gemma 270M, OpenAI-compatible server on loopback); CI runs them.
test-llm: $(VENV)/.installed-llm
	$(BIN)/python -m pytest -m "slow" tests/agent

bench: $(VENV)/.installed-test
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
