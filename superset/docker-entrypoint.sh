#!/usr/bin/env bash
# The compose service `superset` (issue 22): metadata schema, Superset's roles, ours,
# the users, the two warehouse connections and the dashboards (superset/provision.py),
# then the web server. Every secret is a file under /run/secrets (docker-compose.yml).
set -euo pipefail
superset db upgrade
superset init
python /opt/superset/provision.py setup import access
exec gunicorn --bind 0.0.0.0:8088 --workers "${SUPERSET_WORKERS:-2}" \
  --worker-class gthread --threads 8 --timeout 120 \
  --limit-request-line 0 --limit-request-field_size 0 --no-control-socket \
  "superset.app:create_app()"
