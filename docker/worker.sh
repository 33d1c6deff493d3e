#!/usr/bin/env bash
# A Celery worker: the only service that holds the pseudonym key (the pseudonym_key
# secret, SAFETYNET_PSEUDONYM_KEY_FILE). Refuses to start without a usable key, so a
# misconfigured worker never takes a load task: config.pseudonym_key() names the failed
# check (pseudonym_key_missing / _short / _development), never the key.
set -euo pipefail

python -c 'from safetynet import config; config.pseudonym_key()'

exec airflow celery worker "$@"
