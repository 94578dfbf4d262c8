# The two promises of the README: `make demo` and `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean venv dist

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[collector,hardware,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/watchkeeper up

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check agent collector rules tests bench
	$(BIN)/ruff format --check agent collector rules tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

# The wheel, and the agent as one file for servers without pip (a shiv zipapp: the agent and
# its dependencies, psutil and msgspec compiled for this Python version and platform).
DIST ?= dist
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)
	$(BIN)/pip wheel --no-deps -q -w $(DIST) .
	$(BIN)/shiv -q --compressed --reproducible -p '/usr/bin/env python3' -c watchkeeper \
		-o $(DIST)/watchkeeper-agent.pyz $(DIST)/watchkeeper-*.whl

clean:
	rm -rf $(VENV) .watchkeeper .mypy_cache .ruff_cache .pytest_cache dist
