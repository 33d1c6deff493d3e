#!/usr/bin/env bash
# Start the Airflow API server (UI, public REST API, execution API for the workers).
# SimpleAuthManager takes user passwords from a JSON file: write it from .env
# (AIRFLOW_ADMIN_PASSWORD) on every start, so the password is set, and changed,
# in one place. Only this container holds the file.
set -euo pipefail

umask 077
python - <<'PY'
import json
import os
from pathlib import Path

password = os.environ.get("AIRFLOW_ADMIN_PASSWORD", "")
if not password:
    raise SystemExit("AIRFLOW_ADMIN_PASSWORD is not set (see .env.example)")
path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps({"admin": password}) + "\n", encoding="utf-8")
PY

exec airflow api-server --port 8080
