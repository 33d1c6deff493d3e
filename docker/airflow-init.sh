#!/usr/bin/env bash
# One-shot set-up of the Docker stack (service airflow-init); idempotent, so it
# runs on every `docker compose up` and the long-running services wait for it.
set -euo pipefail

# Refuse the placeholders of .env.example (names only are printed, never values).
placeholders=$(env | sed -n 's/^\([A-Z0-9_]*\)=change-me$/\1/p')
if [ -n "$placeholders" ]; then
    echo "airflow-init: replace the change-me values in .env first:" $placeholders >&2
    echo "(if postgres already started with them: on a fresh install only," \
         "'docker compose down -v' deletes the volumes and starts over)" >&2
    exit 1
fi

# Airflow metadata schema (output kept visible: a failed migration must be readable).
airflow db migrate

# The project's own set-up: warehouse schemas, raw/audit tables, identity
# functions, role grants, and the landing/feed/reports folders on their volumes.
python -m safetynet.setup
