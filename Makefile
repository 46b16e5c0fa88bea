# Two entry points: `make demo` runs the bot's main job on embedded defaults,
# `make test` runs the whole suite. Each builds its own virtualenv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint serve clean

$(BIN)/tipoff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	@touch $@

demo: $(BIN)/tipoff
	$(BIN)/tipoff demo

serve: $(BIN)/tipoff
	$(BIN)/tipoff serve

test: $(BIN)/tipoff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
