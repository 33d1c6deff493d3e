# Safetynet — every command a newcomer needs. `make help` lists them.
SHELL := /bin/bash
# This machine sets PYTHONDONTWRITEBYTECODE: every Airflow/GX start would recompile
# thousands of modules (seconds each time). Let Python cache bytecode in the venv.
unexport PYTHONDONTWRITEBYTECODE
.DEFAULT_GOAL := help
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
ENV := set -a; eval "$$($(VENV)/bin/python -m safetynet_dev.stack.env)"; set +a
DAYS ?= 3
HOUSEHOLDS ?= 2000
START ?= 2026-10-01
DATE ?= $(START)
# `make test TIER=unit` (or integration, e2e): one tier of the tests (pytest -m).
TIER ?=
PYTEST := $(VENV)/bin/python -m pytest tests -q -p no:cacheprovider --durations=20
# What `make lint` runs, each from the venv. Config: pyproject.toml (ruff, mypy),
# .sqlfluff, .yamllint. All run; the target fails if any failed.
LINTERS := \
  "ruff check include tools tests dags plugins" \
  "ruff format --check include tools tests dags plugins" \
  "sqlfluff lint dbt_project" \
  "yamllint --strict ." \
  "mypy include/safetynet"

.PHONY: help venv up demo run test check env psql stop data docs bench airflow backfill lint cluster-demo \
  superset

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The pins, then the two packages of this repo, editable: the runtime (include/safetynet)
# and the tooling (tools/safetynet_dev). All output to stderr: `eval "$$(make -s env)"`
# may create the venv on a fresh clone and must read only the exports on stdout.
$(STAMP): requirements.lock requirements-dev.txt pyproject.toml tools/pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY)" >&2; exit 1; }
	@$(PY) -m venv $(VENV) >&2
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock >&2
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt \
	  -c requirements.lock >&2
	@$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
	  -e . -e tools >&2
	@touch $(STAMP)

venv: $(STAMP) ## create the project virtual environment from the pins

up: $(STAMP) ## start the local PostgreSQL and prepare Airflow and the warehouse
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.stack.localpg start
	@$(ENV); $(VENV)/bin/python -m safetynet.setup

data: up ## generate synthetic extracts: HOUSEHOLDS=2000 START=2026-10-01 DAYS=3
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.synth.generator --out "$$SAFETYNET_LANDING_DIR" \
	  --households $(HOUSEHOLDS) --start $(START) --days $(DAYS)
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.synth.casework --landing "$$SAFETYNET_LANDING_DIR" \
	  --feed "$$SAFETYNET_FEED_DIR" --start $(START) --days $(DAYS)

demo: up ## set up from nothing, generate data, run safetynet_daily for 3 days, summarise
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.demo --households $(HOUSEHOLDS) --start $(START) --days $(DAYS)

# A date before the DAG's start (SAFETYNET_START_DATE) is refused: Airflow would make an
# empty run and exit 0. So is one before START in `make backfill`.
run: up ## run safetynet_daily for one date through Airflow: DATE=YYYY-MM-DD
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.stack.services check-date $(DATE) && \
	  airflow dags test safetynet_daily $(DATE)

# (issue 21) One alert's account: the source lines, rule version, checks, feed line,
# lineage. DATE only when given (default: the latest date the episode held); `make -s
# explain ... FORMAT=json` prints one JSON document (the set-up's messages go to stderr).
.PHONY: explain
explain: $(STAMP) ## explain an alert down to its source lines: ALERT=<alert_id> [DATE=YYYY-MM-DD] [FORMAT=json]
	@test -n "$(ALERT)" || { echo "usage: make explain ALERT=<alert_id> [DATE=YYYY-MM-DD] [FORMAT=json]" >&2; exit 2; }
	@$(MAKE) -s up >&2
	@$(ENV); $(VENV)/bin/python -m safetynet.explain "$(ALERT)" --format $(or $(FORMAT),text) \
	  $(if $(filter-out file default,$(origin DATE)),--date $(DATE))

# (issue 23) Fold every processed date older than the newest SAFETYNET_SNAPSHOT_WINDOW_DAYS
# into the change history now (the DAG's compact_history does it after each feed).
.PHONY: compact
compact: up ## fold dates older than the window into the change history (SAFETYNET_SNAPSHOT_WINDOW_DAYS)
	@$(ENV); $(VENV)/bin/python -m safetynet.history compact

# TIER=unit needs no server: then PostgreSQL is not started either.
test: $(if $(filter unit,$(TIER)),$(STAMP),up) ## the test suite against the real local stack (TIER=unit|integration|e2e: one tier)
	@$(ENV); $(PYTEST) $(if $(TIER),-m "$(TIER)")

# Lint + unit tests, a few minutes at most: no PostgreSQL, no Airflow run, no dbt.
check: $(STAMP) ## before every commit: lint + the unit tests (starts no server)
	@status=0; $(MAKE) --no-print-directory lint || status=1; \
	  echo "== pytest -m unit" >&2; $(ENV); $(PYTEST) -m unit || status=1; \
	  exit $$status

lint: $(STAMP) ## ruff (check + format), sqlfluff, yamllint, mypy
	@failed=(); for linter in $(LINTERS); do echo "== $$linter" >&2; \
	  $(VENV)/bin/$$linter || failed+=("$$linter"); done; \
	  if (( $${#failed[@]} )); then printf 'lint failed: %s\n' "$${failed[@]}" >&2; exit 1; fi

env: $(STAMP) ## shell exports: eval "$$(make -s env)"
	@$(VENV)/bin/python -m safetynet_dev.stack.env

psql: up ## open the warehouse in psql
	@$(ENV); psql "$$AIRFLOW_CONN_WAREHOUSE"

docs: up ## build dbt docs and Data Docs (paths printed)
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.docs

bench: up ## scale benchmark (1M persons x 3 days), results in var/bench
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.bench.run \
	  $(if $(filter command line,$(origin HOUSEHOLDS)),--households $(HOUSEHOLDS)) \
	  $(if $(filter command line,$(origin DAYS)),--days $(DAYS)) \
	  $(if $(filter command line,$(origin START)),--start $(START)) $(BENCH_ARGS)

airflow: up ## start the Airflow UI and services (api-server, scheduler, dag-processor, triggerer)
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.stack.services start

# Airflow's own backfill (`airflow backfill create --max-active-runs 1`, printed when run),
# carried out by the scheduler of `make airflow` one day at a time in date order; the target
# unpauses the DAG if needed and prints each day's state until all are done (Ctrl-C stops
# watching only). REPROCESS=failed (default) re-runs failed days (a re-delivered day) and
# skips published ones; REPROCESS=completed re-runs every day; none: only days never run.
backfill: up ## Airflow's own backfill of safetynet_daily, in order: START=... END=... [REPROCESS=failed]
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.stack.services backfill safetynet_daily \
	  $(START) $(or $(END),$(START)) $(or $(REPROCESS),failed)

# Superset (issue 22) in its own venv from its own lock (its pins do not fit ours: SQLAlchemy
# < 2, pandas < 2.2), installed on first use (about a minute). docs/superset.md.
SUPERSET_VENV := .venv-superset
SUPERSET_STAMP := $(SUPERSET_VENV)/.installed
$(SUPERSET_STAMP): superset/requirements.lock
	@command -v $(PY) >/dev/null || { echo "need $(PY)" >&2; exit 1; }
	@$(PY) -m venv $(SUPERSET_VENV) >&2
	@$(SUPERSET_VENV)/bin/pip install -q --disable-pip-version-check \
	  -r superset/requirements.lock >&2
	@touch $(SUPERSET_STAMP)

superset: up $(SUPERSET_STAMP) ## Superset on the warehouse (dashboards, SQL Lab): prints URL and logins
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.stack.superset start

cluster-demo: $(STAMP) ## CeleryExecutor proof: Redis + Airflow + 2 Celery workers run one sample day
	@$(ENV); $(VENV)/bin/python -m safetynet_dev.stack.cluster demo

stop: ## stop local services (Airflow, the Celery cluster, Superset, PostgreSQL)
	@if [ -x $(VENV)/bin/python ]; then $(ENV); $(VENV)/bin/python -m safetynet_dev.stack.services stop; \
	  $(VENV)/bin/python -m safetynet_dev.stack.superset stop; \
	  $(VENV)/bin/python -m safetynet_dev.stack.cluster stop; \
	  $(VENV)/bin/python -m safetynet_dev.stack.localpg stop; fi
