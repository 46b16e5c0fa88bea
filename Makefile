# Two entry points: `make demo` runs the bot's main job on embedded defaults,
# `make test` runs the whole suite. Each builds its own virtualenv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

# The suite runs in one process a core (pytest-xdist): on 2 cores it took 8 minutes
# rather than 12. `make test PYTEST_PROCESSES=` runs it in one process (for a debugger).
PYTEST_PROCESSES ?= -n auto

.PHONY: demo test test-postgres bench serve mutate mutate-more clean

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
	$(BIN)/pytest $(PYTEST_PROCESSES)

# The suite again with every database-backed test on the PostgreSQL server named by
# TIPOFF_TEST_POSTGRES_URL (`.ci/run` starts one); each test gets a fresh database.
test-postgres: $(BIN)/tipoff
	@test -n "$$TIPOFF_TEST_POSTGRES_URL" || { echo "set TIPOFF_TEST_POSTGRES_URL=postgresql+asyncpg://user:pass@host:port/postgres"; exit 2; }
	$(BIN)/pytest $(PYTEST_PROCESSES)

# Benchmarks against the database's own speed, in one run: SIZE=tiny|small|medium|full.
bench: $(BIN)/tipoff
	$(BIN)/python -m benchmarks --size $(or $(SIZE),small)

# Mutation testing of the sales rules (README, "Mutation testing"): mutmut changes the
# code one operator or constant at a time and runs the unit and fast integration tests
# that call it ([tool.mutmut] in pyproject.toml); a change no test notices survives.
# Scored by default: routing, the workflow rules (cooldown, quiet, SLA clock), the sums
# scoring reads, bundling, the alert decision in a rescore, and the SLA job. Another
# scope: make mutate MUTANTS="'tipoff.core.*' 'tipoff.alerts.delivery.*'". JOBS=2.
MUTANTS ?= 'tipoff.core.routing.*' 'tipoff.core.workflow.*' 'tipoff.core.tally.*' \
	'tipoff.alerts.queue.x__bundled*' 'tipoff.scores.rescoring.x__decided*' 'tipoff.alerts.sla.x_check_slas*'
# The rest of the model's core, Slack's pacing, the rescore's memory of each account
# (cooldown, snooze, Wrong) and the outbox's delivery run (pacing per channel and DM),
# one scope a run (`make mutate-more` runs them in turn; hours here, so not the
# default): see README for each one's time.
MORE_MUTANTS = 'tipoff.slack.pacing.*' 'tipoff.core.opener.*' 'tipoff.core.identity.*' \
	'tipoff.core.event_names.*' 'tipoff.core.evidence.*' 'tipoff.core.history.*' \
	'tipoff.core.nesting.*' 'tipoff.core.traits.*' 'tipoff.core.scoring.*' 'tipoff.core.titles.*' \
	'tipoff.reps.x_memories*' 'tipoff.alerts.delivery.x_deliver_pending_alerts*'

$(BIN)/mutmut: pyproject.toml $(BIN)/tipoff
	$(BIN)/pip install --quiet -e '.[dev,postgres,mutate]'
	@touch $@

mutate: $(BIN)/mutmut
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(or $(JOBS),2) $(MUTANTS)
	@echo "Survivors (.venv/bin/mutmut show NAME shows one):"
	@$(BIN)/mutmut results | grep ': survived' || true

mutate-more: $(BIN)/mutmut
	@for scope in $(MORE_MUTANTS); do \
		$(MAKE) --no-print-directory mutate MUTANTS="'$$scope'" || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache mutants
