"""Airflow UI plugin: the auditors' and analysts' docs inside Airflow.

Serves the Great Expectations Data Docs and the dbt docs site from the
api-server (``/safetynet-docs/...``) and adds them to the UI's navigation.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from airflow.plugins_manager import AirflowPlugin
from safetynet import quality
from safetynet.config import PROJECT_ROOT, Settings

PREFIX = "/safetynet-docs"


def docs_app() -> FastAPI:
    app = FastAPI(title="Safetynet docs")
    gx_site = quality.data_docs_index(Settings.from_env().reports_dir).parent
    dbt_site = PROJECT_ROOT / "dbt_project" / "target"
    for route, folder in (("/gx", gx_site), ("/dbt", dbt_site)):
        folder.mkdir(parents=True, exist_ok=True)
        app.mount(route, StaticFiles(directory=str(folder), html=True), name=route.strip("/"))
    return app


class SafetynetDocsPlugin(AirflowPlugin):
    name = "safetynet_docs"
    fastapi_apps = [{"app": docs_app(), "url_prefix": PREFIX, "name": "Safetynet docs"}]
    external_views = [
        {"name": "Data Docs (data quality)", "href": f"{PREFIX}/gx/index.html",
         "destination": "nav", "category": "browse", "url_route": "safetynet-data-docs"},
        {"name": "dbt docs (warehouse)", "href": f"{PREFIX}/dbt/index.html",
         "destination": "nav", "category": "browse", "url_route": "safetynet-dbt-docs"},
    ]
