# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist

.PHONY: setup fashion-mnist test demo bench clean

setup: $(STAMP) fashion-mnist

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
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

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/squeezenet demo --out runs/demo

bench: setup
	$(BIN)/squeezenet bench --train

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
