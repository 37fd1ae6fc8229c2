# The two commands a new user needs:
#   make run    set everything up and start tasklane locally (embedded emulated AWS)
#   make test   set everything up and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint package clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tasklane local $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Build the deployable template (see README, "Deploy").
package: $(STAMP)
	$(BIN)/chalice package --stage $(or $(STAGE),dev) --merge-template template.yaml build/$(or $(STAGE),dev)

clean:
	rm -rf $(VENV) build .pytest_cache
