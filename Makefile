# The README's commands. Every target that runs code first makes sure .venv exists.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench reproduce clean

setup: $(STAMP)

# Re-run when the dependency list changes. torch is pinned in pyproject.toml: an unpinned torch
# pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,docs,embedding]'
	touch $(STAMP)

demo: setup
	$(BIN)/occam diagnose

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Benchmarks run in their own environment: the anchor packages they compare against are never
# runtime dependencies of occamlab.
BENCH       := .venv-bench
BENCH_STAMP := $(BENCH)/.installed

$(BENCH_STAMP): pyproject.toml benchmarks/requirements.txt
	test -x $(BENCH)/bin/python || $(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet torch==2.13.0
	$(BENCH)/bin/python -m pip install --quiet -e . -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@set -e; for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BENCH)/bin/python $$b; done

reproduce: setup
	$(BIN)/python -m occamlab.experiments.reproduce

clean:
	rm -rf $(VENV) $(BENCH) occam-runs .pytest_cache .ruff_cache
