# Entry points: `make demo` and `make test`; for development also `make lint`, `make typecheck`
# and `make test-fast` (CONTRIBUTING.md). All create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The pinned torch is installed first so that the package's `torch>=2.1` is already
# satisfied; on machines with a local CPU wheel this avoids a multi-GB CUDA download,
# elsewhere it is the ordinary PyPI build (CUDA on Linux). Override: make demo TORCH=torch
TORCH  ?= torch==2.13.0

.PHONY: demo test test-fast lint typecheck format install clean bench extract-env

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet "$(TORCH)" || $(PIP) install --quiet torch
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# `skelcon extract --backend mediapipe` runs MediaPipe Pose in an environment of its own:
# mediapipe 0.10.21 (its legacy Pose solution, weights inside the wheel) pins NumPy 1 and
# protobuf 4; skelcon's environment has NumPy 2. Any Python 3.9-3.12; under a minute,
# 1 GB (JAX comes with it). skelcon finds it here, or at $SKELCON_EXTRACT_PYTHON.
EXTRACT_PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.10 || echo python3)
EXTRACT_VENV   ?= .venv-extract
$(EXTRACT_VENV)/.installed:
	$(EXTRACT_PYTHON) -m venv $(EXTRACT_VENV)
	$(EXTRACT_VENV)/bin/python -m pip install --quiet "mediapipe==0.10.21"
	touch $@

extract-env: $(EXTRACT_VENV)/.installed

demo: install
	$(VENV)/bin/skelcon demo

# the whole suite, with its 15 slowest tests listed at the end
test: install
	$(PY) -m pytest --durations=15

# everything but the markers registered in pyproject.toml: slow, ddp, shared_data (< 2 min)
test-fast: install
	$(PY) -m pytest -m "not slow and not ddp and not shared_data"

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

# mypy --strict on the packages typed so far; the flags live in pyproject.toml [tool.mypy]
TYPED ?= src/skelcon/contrast src/skelcon/utils src/skelcon/engine src/skelcon/config.py src/skelcon/extract src/skelcon/sweep
typecheck: install
	$(PY) -m mypy $(TYPED)

format: install
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

bench: install
	$(PY) bench/pretrain_throughput.py

clean:
	rm -rf $(VENV) $(EXTRACT_VENV) runs build *.egg-info
