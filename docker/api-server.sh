#!/usr/bin/env bash
# Start the Airflow API server (UI, public REST API, execution API for the workers).
# SimpleAuthManager takes the users and roles from AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS
# and their passwords from a JSON file: written here, on every start, from the
# ui_passwords secret (/run/secrets/ui_passwords, only this container has it), so a
# password is set, and changed, in one place. Every listed user needs a password of
# 16 characters or more; values are never printed.
set -euo pipefail

umask 077
python - <<'PY'
import json
import os
from pathlib import Path

source = Path(os.environ.get("SAFETYNET_UI_PASSWORDS_FILE", "/run/secrets/ui_passwords"))
try:
    passwords = json.loads(source.read_text(encoding="utf-8"))
except (OSError, ValueError) as error:
    raise SystemExit(f"api-server: cannot read the ui_passwords secret {source}: {error}")
users = [entry.split(":")[0] for entry in
         os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",") if entry.strip()]
weak = [user for user in users
        if len(str(passwords.get(user, ""))) < 16 or "change-me" in str(passwords.get(user))]
if weak:
    raise SystemExit(
        f"api-server: set a password of 16+ characters for {', '.join(weak)} in {source}"
    )
path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps({user: passwords[user] for user in users}) + "\n", encoding="utf-8")
PY

exec airflow api-server --port 8080
