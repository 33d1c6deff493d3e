"""``make docs``: build the dbt docs site and the GX Data Docs, print their paths."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

from safetynet.config import Settings, project_home
from safetynet.quality import datadocs, gate


def dbt_environment(url: str) -> dict[str, str]:
    """dbt's profiles.yml reads SAFETYNET_DB_*; derive them from the warehouse URL."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return {
        **os.environ,
        "SAFETYNET_DB_HOST": parts.hostname or "127.0.0.1",
        "SAFETYNET_DB_PORT": str(parts.port or 5432),
        "SAFETYNET_DB_USER": parts.username or "",
        "SAFETYNET_DB_PASSWORD": parts.password or "",
        "SAFETYNET_DB_NAME": parts.path.lstrip("/"),
    }


def build_dbt_docs(url: str) -> None:
    project = project_home() / "dbt_project"
    subprocess.run(
        [
            str(project_home() / ".venv" / "bin" / "dbt"),
            "docs",
            "generate",
            "--profiles-dir",
            str(project),
            "--project-dir",
            str(project),
            "--vars",
            "{as_of_date: '2000-01-01'}",
        ],
        check=True,
        env=dbt_environment(url),
    )


def build_data_docs() -> None:
    import great_expectations as gx

    settings = Settings.from_env()
    context = gx.get_context(mode="file", project_root_dir=str(settings.reports_dir))
    datadocs.prepare_offline_styles(settings.reports_dir / "gx")
    context.build_data_docs()
    datadocs.add_static_validation_list(settings.reports_dir / "gx")


def main() -> int:
    settings = Settings.from_env()
    build_dbt_docs(settings.warehouse_url)
    build_data_docs()
    print(f"dbt docs:  {project_home() / 'dbt_project' / 'target' / 'index.html'}")
    print(f"Data Docs: {gate.data_docs_index(settings.reports_dir)}")
    print("Both are also linked in the Airflow UI (Browse menu) when `make airflow` runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
