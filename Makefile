# Herald's two commands: `make run` (set up and serve) and `make test` (set up, lint, test).
# Both install what is missing into .venv and are quick when it is already there.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The stamp changes with setup.cfg, so editing dependencies reinstalls them.
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | md5sum | cut -c1-12)

.PHONY: run test lint format docs venv services-stop clean

run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run.sh

test: lint
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

# ruff, then the dependency rules between app's packages ([importlinter] in setup.cfg).
lint: $(STAMP)
	$(BIN)/ruff check .
	PYTHONPATH="$(CURDIR)" $(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The only way the docs change (tests and benchmarks write untracked files): the
# benchmark tables from bench/results/latest-*.json, the kill-test figures from
# the newest complete run in .run/reliability/, the README's screenshot from the
# last browser-test run (test-artifacts/). Starts no server.
docs: $(STAMP)
	$(BIN)/python -m bench.report
	$(BIN)/python -m tests.support.reliability_report
	@shot=test-artifacts/screenshots/docs-screenshot.png; \
	if [ -f $$shot ]; then \
		cp $$shot docs/screenshot.png && echo "docs/screenshot.png copied from $$shot."; \
	else \
		echo "docs/screenshot.png left as it is: no $$shot (run pytest tests/e2e)."; \
	fi

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
