"""Shell exports for the local stack: ``eval "$(python -m safetynet_dev.stack.env)"``.

A variable already set in the environment wins, so a data engineer can
point the stack at another landing folder or an external PostgreSQL. A URL of the
local cluster always gets its current password (``var/pgpass``, generated here on
first use), so a shell that exported an older one keeps working.
"""

from __future__ import annotations

import os
import shlex

from safetynet import config
from safetynet.lineage import transport as lineage_transport
from safetynet_dev.stack import localpg

# Connection URLs that name the local cluster: their password is always the current one.
LOCAL_URLS = ("AIRFLOW_CONN_WAREHOUSE", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
# OpenLineage's emission policy, as in docker-compose.yml: no task source code in events
OPENLINEAGE_EMISSION_POLICY = '[{"scope": {}, "controls": {"include_source_code": false}}]'


def local_environment() -> dict[str, str]:
    root = config.project_home()
    var = config.var_dir()
    port = config.local_pg_port()
    password = localpg.ensure_password_file(config.local_password_file())
    defaults = {
        # The embedded stack: development keys allowed (config.pseudonym_key); a
        # deployment leaves it unset and is strict.
        "SAFETYNET_ENVIRONMENT": config.LOCAL_ENVIRONMENT,
        # psql, dbt --profiles-dir and any libpq client find the local password here.
        "PGPASSFILE": str(config.local_password_file()),
        "SAFETYNET_VAR_DIR": str(var),
        "SAFETYNET_LANDING_DIR": str(var / "landing"),
        "SAFETYNET_FEED_DIR": str(var / "feed"),
        "SAFETYNET_REPORTS_DIR": str(var / "reports"),
        "SAFETYNET_SOURCE_TIMEOUT": "3600",
        "AIRFLOW_CONN_WAREHOUSE": config.local_warehouse_url(),
        "AIRFLOW_HOME": str(var / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg://safetynet:{password}@127.0.0.1:{port}/airflow"
        ),
        # The task supervisor waits in select() up to this long between heartbeats. When
        # a task's sockets close before its process can be reaped, it notices the exit
        # only then: up to 5 s (the default) with the executor slot held after a task.
        # 1 s: at most one heartbeat per running task per second. (Celery workers too.)
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(var / "cosmos"),
        # (issue 21) OpenLineage: one event per file under <reports>/lineage (each
        # deployment's own: safetynet.lineage.transport; docs/lineage.md), loaded into
        # audit.lineage_events; the TaskFlow tasks' datasets come from the project's
        # extractor. No secret goes into the transport config.
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "safetynet",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": lineage_transport.DEFAULT_TRANSPORT,
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": "safetynet.lineage.extractor.SafetynetExtractor",
        # no task source code in the events (the emission policy, not the deprecated
        # disable_source_code that warns in every event); (issue 23) events sent from a
        # thread of the task process, not a fork of it per event (~0.15 s a task less)
        "AIRFLOW__OPENLINEAGE__EMISSION_POLICY": OPENLINEAGE_EMISSION_POLICY,
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "GX_ANALYTICS_ENABLED": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    exports = {name: os.environ.get(name) or value for name, value in defaults.items()}
    for name in LOCAL_URLS:
        if localpg.is_local_url(exports[name], port):
            exports[name] = localpg.with_password(exports[name], password)
    exports["PATH"] = f"{root / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"
    return exports


def main() -> None:
    for name, value in local_environment().items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
