# Two commands do everything on a fresh machine: `make test` and (soon) `make speedrun`.
# Setup is idempotent: the stamp file is rebuilt only when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 first: the CPU wheel on this disk, so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/train_step.py

clean:
	rm -rf $(VENV) build *.egg-info
