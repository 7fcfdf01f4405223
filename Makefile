# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist

.PHONY: setup fashion-mnist lint test check demo bench explore-docs options-docs clean

setup: $(STAMP) fashion-mnist

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

# Fashion-MNIST comes from Debian's package; skipped (with a note) where apt is not usable.
fashion-mnist:
	@if [ -f $(FMNIST)/train-images-idx3-ubyte.gz ] || [ -f $(FMNIST)/train-images-idx3-ubyte ]; then \
		true; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null \
			|| echo "note: could not install dataset-fashion-mnist; Fashion-MNIST tests will skip"; \
	else \
		echo "note: apt not usable; install dataset-fashion-mnist or pass --data-dir to use Fashion-MNIST"; \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/vulture src/squeezenet tests benchmarks vulture_whitelist.py --min-confidence 60

# Two workers with half the cores' threads each (tests/conftest.py), each running whole test files
# (a module's fixtures built once): 1.6x the serial suite's pace on two cores.
TEST_WORKERS ?= 2
test: setup lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

# The contributor's quick loop: lint and the tests that need neither ../shared nor minutes.
check: setup lint
	SQUEEZENET_SHARED=/nonexistent $(BIN)/python -m pytest -q -m "not slow" -n $(TEST_WORKERS)

demo: setup
	$(BIN)/squeezenet demo --out runs/demo

# The result pages of docs/results (the ImageNet and hymenoptera ones need ../shared).
bench: setup
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/allreduce.py
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/int8_options.py
	$(BIN)/python benchmarks/compression_curve.py
	$(BIN)/python benchmarks/finetune.py
	$(BIN)/python benchmarks/ota.py
	$(BIN)/python benchmarks/demo.py
	$(BIN)/python benchmarks/edge.py

# The reference page of every command's options, from the parser (tests/test_docs.py checks it is current).
options-docs: setup
	$(BIN)/python -m squeezenet.cli.reference > docs/guide/options.md.tmp && mv docs/guide/options.md.tmp docs/guide/options.md

# The design-space sweeps of docs/results/explore (about 25 minutes on 2 AVX2 cores).
SWEEP := --epochs 2 --limit-train 8000 --limit-val 2000 --lr 0.001 --seeds 2 --quiet
explore-docs: setup
	$(BIN)/squeezenet explore sr --values 0.125 0.25 0.5 1.0 $(SWEEP) --out docs/results/explore/sr
	$(BIN)/squeezenet explore pct3x3 --values 0.125 0.25 0.5 0.75 $(SWEEP) --out docs/results/explore/pct3x3
	$(BIN)/squeezenet explore bypass --values none simple complex $(SWEEP) --out docs/results/explore/bypass
	rm -rf docs/results/explore/*/runs docs/results/explore/*/results.lock

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
