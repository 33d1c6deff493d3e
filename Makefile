# Safetynet — every command a newcomer needs. `make help` lists them.
SHELL := /bin/bash
# This machine sets PYTHONDONTWRITEBYTECODE: every Airflow/GX start would recompile
# thousands of modules (seconds each time). Let Python cache bytecode in the venv.
unexport PYTHONDONTWRITEBYTECODE
.DEFAULT_GOAL := help
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
ENV := set -a; eval "$$(PYTHONPATH=plugins $(VENV)/bin/python -m safetynet.env)"; set +a
DAYS ?= 3
HOUSEHOLDS ?= 2000
START ?= 2026-10-01
DATE ?= $(START)

.PHONY: help venv up demo run test env psql stop data docs bench airflow backfill lint cluster-demo

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.lock
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

venv: $(STAMP) ## create the project virtual environment from the pins

up: $(STAMP) ## start the local PostgreSQL and prepare Airflow and the warehouse
	@$(ENV); $(VENV)/bin/python -m safetynet.localpg start
	@$(ENV); $(VENV)/bin/python -m safetynet.setup

data: up ## generate synthetic extracts: HOUSEHOLDS=2000 START=2026-10-01 DAYS=3
	@$(ENV); $(VENV)/bin/python -m safetynet.generator --out "$$SAFETYNET_LANDING_DIR" \
	  --households $(HOUSEHOLDS) --start $(START) --days $(DAYS)

demo: up ## set up from nothing, generate data, run safetynet_daily for 3 days, summarise
	@$(ENV); $(VENV)/bin/python -m safetynet.demo --households $(HOUSEHOLDS) --start $(START) --days $(DAYS)

run: up ## run safetynet_daily for one date through Airflow: DATE=YYYY-MM-DD
	@$(ENV); airflow dags test safetynet_daily $(DATE)

test: up ## the whole test suite against the real local stack
	@$(ENV); $(VENV)/bin/python -m pytest tests -q -p no:cacheprovider

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check plugins dags tests

env: ## shell exports: eval "$$(make -s env)"
	@PYTHONPATH=plugins $(VENV)/bin/python -m safetynet.env

psql: up ## open the warehouse in psql
	@$(ENV); psql "$$AIRFLOW_CONN_WAREHOUSE"

docs: up ## build dbt docs and Data Docs (paths printed)
	@$(ENV); $(VENV)/bin/python -m safetynet.docs

bench: up ## scale benchmark (1M persons x 3 days), results in var/bench
	@$(ENV); $(VENV)/bin/python -m safetynet.bench \
	  $(if $(filter command line,$(origin HOUSEHOLDS)),--households $(HOUSEHOLDS)) \
	  $(if $(filter command line,$(origin DAYS)),--days $(DAYS)) \
	  $(if $(filter command line,$(origin START)),--start $(START)) $(BENCH_ARGS)

airflow: up ## start the Airflow UI and services (api-server, scheduler, dag-processor, triggerer)
	@$(ENV); $(VENV)/bin/python -m safetynet.services start

# Airflow's own backfill (`airflow backfill create --max-active-runs 1`, printed when run),
# carried out by the scheduler of `make airflow` one day at a time in date order; the target
# unpauses the DAG if needed and prints each day's state until all are done (Ctrl-C stops
# watching only). REPROCESS=failed (default) re-runs failed days (a re-delivered day) and
# skips published ones; REPROCESS=completed re-runs every day; none: only days never run.
backfill: up ## Airflow's own backfill of safetynet_daily, in order: START=... END=... [REPROCESS=failed]
	@$(ENV); $(VENV)/bin/python -m safetynet.services backfill safetynet_daily \
	  $(START) $(or $(END),$(START)) $(or $(REPROCESS),failed)

cluster-demo: $(STAMP) ## CeleryExecutor proof: Redis + Airflow + 2 Celery workers run one sample day
	@$(ENV); $(VENV)/bin/python -m safetynet.cluster demo

stop: ## stop local services (Airflow, the Celery cluster, PostgreSQL)
	@if [ -x $(VENV)/bin/python ]; then $(ENV); $(VENV)/bin/python -m safetynet.services stop; \
	  $(VENV)/bin/python -m safetynet.cluster stop; \
	  $(VENV)/bin/python -m safetynet.localpg stop; fi
