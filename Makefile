# The project's commands. `make help` lists them; `make demo` and `make test` need nothing but
# Python >= 3.11, node and npm: they install everything else into .venv and node_modules.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
# The generator's post-hooks run the ruff found on PATH: make it the pinned one in .venv.
export PATH := $(BIN):$(PATH)

GEN_PKG := data_interaction_platform_api
GEN_DIR := generated/$(GEN_PKG)
# Generate into $(1); the generator writes no py.typed with --meta none: add it, so that users'
# type checkers read the generated package's annotations.
GENERATE = $(BIN)/openapi-python-client generate --path openapi.yaml --meta none \
	--config openapi-python-client.yml --fail-on-warning --output-path $(1) && touch $(1)/py.typed

# Dependency groups (the dev tools in pyproject.toml) need pip >= 25.1: .venv gets this one first.
PIP_VERSION := 26.3
# Every extra pyproject.toml declares, comma-separated: the dev environment has them all.
EXTRAS = $(shell $(PYTHON) -c "import tomllib; print(','.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']))")

INSTALL_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help install generate check-generated twins lint test test-fast demo modbus-demo opcua-demo bench docs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: $(INSTALL_STAMP) $(NODE_STAMP) ## Create .venv with the package and its dev tools; install Prism

$(INSTALL_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip==$(PIP_VERSION)'
	$(PY) -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]' --group dev
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

generate: $(INSTALL_STAMP) ## Regenerate generated/ from openapi.yaml
	rm -rf .generate-tmp
	$(call GENERATE,.generate-tmp/$(GEN_PKG))
	rm -rf $(GEN_DIR)
	mv .generate-tmp/$(GEN_PKG) $(GEN_DIR)
	rm -rf .generate-tmp

check-generated: $(INSTALL_STAMP) ## Fail when generated/ differs from what openapi.yaml generates
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	{ $(call GENERATE,"$$tmp/$(GEN_PKG)"); } > "$$tmp/log" 2>&1 || { cat "$$tmp/log"; exit 1; }; \
	diff -r -x __pycache__ "$$tmp/$(GEN_PKG)" $(GEN_DIR) || \
	{ echo "generated/ is out of date with openapi.yaml: run 'make generate' and commit the result" >&2; exit 1; }

twins: $(INSTALL_STAMP) ## Write the connector's sync driver from its async one (scripts/unasync.py)
	$(PY) scripts/unasync.py

lint: $(INSTALL_STAMP) ## ruff, mypy --strict, the import layers, the twins, pyright --verifytypes, the contract
	$(BIN)/openapi-spec-validator openapi.yaml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# The layers of docs/design.md ([tool.importlinter] in pyproject.toml).
	$(BIN)/lint-imports --no-cache
	@# The connector's sync driver is generated from the async one: it must be what make twins writes.
	$(PY) scripts/unasync.py --check
	@# Every public name's type complete, as users' checkers see it (the types of the packages it
	@# returns, polars' and matplotlib's, are theirs to complete: --ignoreexternal). The pinned wheel
	@# bundles pyright and runs it with the node on PATH; IGNORE_WARNINGS: no look-up of a newer version.
	@for package in data_interaction_client DataInteractionClient; do \
		out=$$(PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(BIN)/pyright --verifytypes $$package --ignoreexternal) || \
			{ echo "$$out"; exit 1; }; \
		echo "pyright --verifytypes $$package: $$(grep -o 'score: .*' <<<"$$out")"; \
	done

# The tests start many Python processes (reference platforms, the command line, examples): let them
# share compiled modules (__pycache__, ignored by git) even where the environment turns that off.
test test-fast: export PYTHONDONTWRITEBYTECODE :=

test: install check-generated ## Run the whole test suite with coverage
	$(BIN)/pytest

test-fast: install ## Run the suite without the tests marked slow, on every core (under a minute)
	$(BIN)/pytest -m "not slow" --no-cov -q -n auto

demo: $(INSTALL_STAMP) ## Run the quick start against the embedded reference platform
	$(PY) examples/quickstart.py

modbus-demo: $(INSTALL_STAMP) ## Run the Modbus connector, a simulated device and the platform for a minute
	$(PY) examples/modbus_connector.py 60

opcua-demo: $(INSTALL_STAMP) ## Run the OPC UA connector, asyncua's server (history on) and the platform for a minute
	$(PY) examples/opcua_connector.py 60

bench: $(INSTALL_STAMP) ## Measure the SDK against a bare httpx + orjson floor
	$(PY) -m bench

docs: $(INSTALL_STAMP) ## Build the documentation site, English into site/, Russian into site/ru/ (any warning fails it)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean
	@test -f site/ru/index.html || { echo "make docs: the Russian edition (site/ru/) was not built" >&2; exit 1; }

clean: ## Remove the environment and caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .schemathesis .coverage htmlcov site
