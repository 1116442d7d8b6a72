PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo docs docs-serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The suite mostly waits on the processes it starts (workers, servers, the sandbox org), so
# one pytest process per core (pytest-xdist) takes about 40% off its time; `pytest` alone
# runs in one process. The slowest tests are listed at the end of every run.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(MKDOCS) build --strict --quiet --site-dir $(SITE)
	$(BIN)/pytest -n auto --durations=25

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/sfsync demo

# The docs site (docs/, mkdocs.yml): built offline, every warning an error. The settings,
# command-line and HTTP API references are generated from the code while it builds.
SITE ?= site
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: $(STAMP)
	$(MKDOCS) build --strict --site-dir $(SITE)

docs-serve: $(STAMP)
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:8000

# Removes build and tool caches only: the store, broker and beat schedule live in the user
# data folder (`sfsync --help` says where) and are never deleted here.
clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
