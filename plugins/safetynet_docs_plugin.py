"""Airflow UI plugin: the auditors' and analysts' docs inside Airflow.

Serves the Great Expectations Data Docs (``$SAFETYNET_REPORTS_DIR/gx/uncommitted/
data_docs/local_site``) and the dbt docs site (``dbt_project/target``, built by
``make docs``) from the api-server under ``/safetynet-docs/gx/`` and
``/safetynet-docs/dbt/``, and adds "Data Docs" and "dbt docs" to the UI's
Browse menu.

The pages show data-quality results and column documentation of a restricted
warehouse, so they are served to logged-in Airflow users only (the UI's
session cookie, or ``Authorization: Bearer <JWT>`` from ``POST /auth/token``);
a browser without a session is sent to the login page.
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from safetynet.config import Settings, project_home
from safetynet.quality import gate

PREFIX = "/safetynet-docs"
SITES = {
    "gx": (
        "Data Docs (data quality)",
        "written by every run of safetynet_daily (tasks check_raw and check_marts) "
        "and by <code>make docs</code>",
    ),
    "dbt": ("dbt docs (warehouse)", "built by <code>make docs</code> (dbt docs generate)"),
}
mimetypes.add_type("application/json", ".json")


def site_folder(site: str) -> Path:
    """Where a site lives, read from the environment at each request."""
    if site == "gx":
        return gate.data_docs_index(Settings.from_env().reports_dir).parent
    return project_home() / "dbt_project" / "target"


async def authenticated_user(request: Request):
    """The Airflow user of this request (bearer token or the UI's session cookie)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPAuthorizationCredentials

    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)
        if scheme.lower() == "bearer" and credentials
        else None
    )
    user = await get_user(request, None, bearer)
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=403, detail="Forbidden")
    return user


def _login_redirect(request: Request) -> Response:
    from airflow.api_fastapi.app import get_auth_manager

    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(get_auth_manager().get_url_login(next_url=path), status_code=303)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2rem;max-width:48rem}"
        "code{background:#eee;padding:0 .2rem}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>",
        status_code=status,
    )


def _resolve(site: str, path: str) -> Path | None:
    root = site_folder(site).resolve()
    target = (root / (path or "index.html")).resolve()
    if target != root and root not in target.parents:
        return None  # ../ outside the site
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


def docs_app() -> FastAPI:
    app = FastAPI(title="Safetynet docs", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        try:
            await authenticated_user(request)
        except HTTPException:
            return _login_redirect(request)
        links = "".join(
            f"<li><a href='{PREFIX}/{site}/index.html'>{title}</a></li>"
            for site, (title, _) in SITES.items()
        )
        return _page("Safetynet docs", f"<ul>{links}</ul>")

    @app.get("/{site}/{path:path}")
    async def serve(site: str, path: str, request: Request) -> Response:
        if site not in SITES:
            raise HTTPException(status_code=404, detail="Not Found")
        try:
            await authenticated_user(request)
        except HTTPException as error:
            wants_page = "text/html" in request.headers.get("accept", "")
            if wants_page and error.status_code == 401:
                return _login_redirect(request)
            raise
        target = _resolve(site, path)
        if target is not None:
            return FileResponse(target, headers={"Cache-Control": "no-cache"})
        title, built_by = SITES[site]
        if path in ("", "index.html"):
            folder = html.escape(str(site_folder(site)))
            return _page(
                f"{title}: not built yet",
                f"<p>Nothing in <code>{folder}</code> yet. The site is {built_by}.</p>",
                status=404,
            )
        raise HTTPException(status_code=404, detail="Not Found")

    return app


class SafetynetDocsPlugin(AirflowPlugin):
    name = "safetynet_docs"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": docs_app(), "url_prefix": PREFIX, "name": "Safetynet docs"}
    ]
    external_views: ClassVar[list[dict[str, str]]] = [
        {
            "name": SITES["gx"][0],
            "href": f"{PREFIX}/gx/index.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "safetynet-data-docs",
        },
        {
            "name": SITES["dbt"][0],
            "href": f"{PREFIX}/dbt/index.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "safetynet-dbt-docs",
        },
    ]
