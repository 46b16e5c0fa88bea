# Two entry points: `make demo` runs the bot's main job on embedded defaults,
# `make test` runs the whole suite. Each builds its own virtualenv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-postgres bench serve clean

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
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest

# The suite again with every database-backed test on the PostgreSQL server named by
# TIPOFF_TEST_POSTGRES_URL (`.ci/run` starts one); each test gets a fresh database.
test-postgres: $(BIN)/tipoff
	@test -n "$$TIPOFF_TEST_POSTGRES_URL" || { echo "set TIPOFF_TEST_POSTGRES_URL=postgresql+asyncpg://user:pass@host:port/postgres"; exit 2; }
	$(BIN)/pytest

# Benchmarks against the database's own speed, in one run: SIZE=tiny|small|medium|full.
bench: $(BIN)/tipoff
	$(BIN)/python -m benchmarks --size $(or $(SIZE),small)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
