PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo clean

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
	$(BIN)/mypy .
	$(BIN)/pytest -n auto --durations=25

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

demo: $(STAMP)
	$(BIN)/sfsync demo

# Removes build and tool caches only: the store, broker and beat schedule live in the user
# data folder (`sfsync --help` says where) and are never deleted here.
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
