# Two entry points, each setting itself up idempotently: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home

.PHONY: run test dev lint gpu-sources

# torch goes first and pinned, so the project's install never re-resolves it: where pip's configuration
# has a CPU wheel (or torch was installed from PyTorch's CPU index beforehand) it stays CPU-only.
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

# mamba-ssm's source for benchmarks/gpu_check.sh, fetched here for a GPU host that may have no network.
# (pip prepares its metadata without building or downloading anything more.)
gpu-sources: $(INSTALLED)
	MAMBA_SKIP_CUDA_BUILD=TRUE MAMBA_FORCE_BUILD=TRUE $(BIN)/python -m pip download --quiet --no-deps \
		--no-binary :all: --no-build-isolation mamba-ssm==2.3.2.post1 -d .gpu
