# Two commands for a fresh machine: `make repro` (the main job) and `make test`.
# Both bootstrap .venv by themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torchvision's wheels on the registry are built against the CUDA build of torch;
# next to a CPU-only torch (a local `+cpu` wheel that pip prefers for
# `torch==2.13.0`) `import torchvision` fails.  `===` is PEP 440's exact string
# match: it refuses the `+cpu` local version, so pip takes the registry's build
# that matches torchvision 0.28.0 (it runs on CPU; about 2.6 GB).
TORCH_PAIR ?= 'torch===2.13.0' 'torchvision==0.28.0'

.PHONY: all venv test test-fast repro demo bench lint clean

all: test

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PAIR) -e '.[all]'
	$(PY) .ci/check_env.py
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

repro: $(STAMP)
	$(PY) -m paper_repro --quick

demo: $(STAMP)
	$(PY) -m paper_repro.demo

bench: $(STAMP)
	$(PY) -m pytest benchmarks -q --benchmark-only

lint: $(STAMP)
	$(PY) -m ruff check torch_orderedness tests paper_repro benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
