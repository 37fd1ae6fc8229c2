# The two commands a new user needs:
#   make run    set everything up and start tasklane locally (embedded emulated AWS)
#   make test   set everything up and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint types mutation fuzz package clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tasklane local $(ARGS)

# Lint and types first: `make test` fails if either does.
test: lint types
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Fuzz /openapi.json's operations (valid and invalid data, every check) against a running
# tasklane: start it with `TASKLANE_RATE_TIER1=0 TASKLANE_RATE_TIER2=0 TASKLANE_MAX_HOLD_SECONDS=3
# make run`, then `make fuzz TOKEN=<the printed token>` (URL defaults to http://127.0.0.1:8000).
URL ?= http://127.0.0.1:8000
fuzz: $(STAMP)
	$(BIN)/pip install --quiet -e '.[fuzz]'
	$(BIN)/schemathesis run $(URL)/openapi.json -H "Authorization: Bearer $(TOKEN)" --checks all \
	  --max-examples 40 --workers 2 --request-timeout 20 --generation-database none
# mypy over app.py and chalicelib/, --strict on engine/ and store/ (configured in pyproject.toml).
types: $(STAMP)
	$(BIN)/mypy

# Mutation testing of the engine's policy modules against the fast tests (pyproject.toml,
# [tool.mutmut]), from scratch, within MUTATION_SECONDS; the score is printed even when the
# budget runs out. Everything it writes goes to mutants/ (gitignored).
MUTATION_SECONDS ?= 900
MUTATION_STAMP   := $(VENV)/.installed-mutation
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	rm -rf mutants && mkdir -p mutants
	timeout -s INT -k 30 $$(( $(MUTATION_SECONDS) - 40 )) $(BIN)/mutmut run --max-children $${MUTATION_JOBS:-2} \
	  > mutants/run.log 2>&1; echo "mutmut exited $$? (124: stopped by the time budget); log in mutants/run.log"
	$(BIN)/python tools/mutation_score.py

# Build the Lambda package and its deployable template (see README, "Deploy"). app.py names the
# worker's queue after TASKLANE_STAGE when Chalice imports it, so the stage is passed on; the
# region never reaches the template (it says ${AWS::Region}), but Chalice wants one set.
STAGE       ?= dev
PACKAGE_DIR ?= build/$(STAGE)
package: $(STAMP)
	TASKLANE_STAGE=$(STAGE) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}} \
	  $(BIN)/chalice package --stage $(STAGE) --merge-template template.yaml $(PACKAGE_DIR)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache mutants
