# Herald's two commands: `make run` (set up and serve) and `make test` (set up, lint, test).
# Both install what is missing into .venv and are quick when it is already there.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The stamp changes with setup.cfg, so editing dependencies reinstalls them.
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | md5sum | cut -c1-12)

.PHONY: run test lint format venv services-stop clean

run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run.sh

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,brokers]'
	rm -f $(VENV)/.installed-*
	touch $@

services-stop:
	-bash scripts/ferretdb.sh stop

clean: services-stop
	rm -rf $(VENV) .run .pytest_cache .ruff_cache *.egg-info
