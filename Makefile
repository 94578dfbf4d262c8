# The two promises of the README: `make demo` and `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean venv

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

clean:
	rm -rf $(VENV) .watchkeeper .mypy_cache .ruff_cache .pytest_cache
