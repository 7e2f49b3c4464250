# Quick start: `make demo` and `make test` on a fresh clone; both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint schema clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

test: $(STAMP)
	$(BIN)/ruff check mvconf tests bench
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check mvconf tests bench
	$(BIN)/lint-imports --no-cache

schema: $(STAMP)
	$(BIN)/mvconf schema > schemas/manifest.schema.json
	$(BIN)/python -c "from mvconf.emulator.openapi import openapi_text; print(openapi_text(), end='')" > schemas/minivoice.openapi.json

clean:
	rm -rf $(VENV) .mvconf build *.egg-info
