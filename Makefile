# The two commands of the README: `make run` (the main job) and `make test`.
# Both create .venv and install neurosim with the constraints that keep torch on the local CPU build.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-dev

.PHONY: run test test-all bench install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	# optional test frameworks for the NIR comparisons (tests skip without them); norse without
	# its dependencies: it asks for torchvision, whose registry build is CUDA-only and breaks torch
	$(PY) -m pip install -q -c constraints.txt snntorch nirtorch
	$(PY) -m pip install -q -c constraints.txt --no-deps norse
	# SpikingJelly 2.0 for the torch-import comparisons and the benchmark baseline; without its
	# deps for the same reason (loguru is the one it needs at import)
	$(PY) -m pip install -q -c constraints.txt --no-deps "spikingjelly==2.0.0" "loguru>=0.7,<1"
	# SANA-FE, a test-only reference: tests/crosscheck compare neurosim's Loihi costing with it
	# (the module skips without it); pinned in constraints.txt
	$(PY) -m pip install -q -c constraints.txt sanafe
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/neurosim run scenarios/quickstart.yaml

test: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow" -p no:cacheprovider

test-all: $(STAMP)
	$(VENV)/bin/pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) benchmarks/bench_conv_kernel.py
	$(PY) benchmarks/bench_simulate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
