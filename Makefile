# One entry point for people and CI. Every target creates .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install test demo catalog stubs generate check-generated lint typecheck bench bench-tokens clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m pip install --quiet -e examples/winback_plugin
	touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the project with its dev extras

test: $(STAMP)  ## Run the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: $(STAMP)  ## Run the main job on the embedded demo simulator (no account, no network)
	$(BIN)/codemode demo

catalog: $(STAMP)  ## Regenerate the catalog from the vendored spec + OpenAPI (tools/vendor/)
	$(BIN)/python tools/gen_catalog.py

stubs: $(STAMP)  ## Regenerate the SDK resources and sdk_stubs/ from the catalog
	$(BIN)/python tools/gen_sdk.py

generate: catalog stubs  ## Regenerate everything derived (catalog, SDK, stubs, simulator tables, docs)
	$(BIN)/python tools/gen_sim_resources.py
	$(BIN)/python tools/gen_sim_coverage.py
	$(BIN)/python tools/gen_shapes.py
	$(BIN)/python tools/gen_search_embeddings.py
	$(BIN)/python tools/gen_search_static.py
	$(BIN)/python tools/gen_search_weights.py
	$(BIN)/python tools/gen_search_refusal.py
	$(BIN)/python tools/gen_tools_list.py

check-generated: $(STAMP)  ## Fail when generated files are stale
	$(BIN)/python tools/gen_catalog.py --check
	$(BIN)/python tools/gen_sdk.py --check
	$(BIN)/python tools/gen_sim_resources.py --check
	$(BIN)/python tools/gen_sim_coverage.py --check
	$(BIN)/python tools/gen_shapes.py --check
	$(BIN)/python tools/gen_search_embeddings.py --check
	$(BIN)/python tools/gen_search_static.py --check
	$(BIN)/python tools/gen_search_weights.py --check
	$(BIN)/python tools/gen_search_refusal.py --check
	$(BIN)/python tools/gen_tools_list.py --check

lint: $(STAMP)  ## ruff + mypy (strict)
	$(BIN)/ruff check src tests tools examples
	$(BIN)/ruff format --check src tests tools examples
	$(BIN)/mypy

bench: $(STAMP)  ## Run every benchmark (tokens, search, scan, sandbox), then regenerate the README results
	$(BIN)/codemode bench all
	$(BIN)/python tools/gen_readme_results.py

bench-tokens: $(STAMP)  ## Only the token benchmark (about a minute), then the README results
	$(BIN)/codemode bench tokens
	$(BIN)/python tools/gen_readme_results.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
