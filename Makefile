# Two entry points, each setting itself up idempotently: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home

.PHONY: run test dev lint

# torch goes first and pinned: the CPU wheel; a looser spec would pull the CUDA build.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m orchestration.run_pipeline

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

dev: $(INSTALLED)
	$(BIN)/python -m orchestration.settings
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: $(INSTALLED)
	$(BIN)/ruff check --fix .
