"""Airflow UI plugin: the auditors' and analysts' docs inside Airflow.

Serves the Great Expectations Data Docs (``$SAFETYNET_REPORTS_DIR/gx/uncommitted/
data_docs/local_site``) and the dbt docs site (``dbt_project/target``, built by
``make docs``) from the api-server under ``/safetynet-docs/gx/`` and
``/safetynet-docs/dbt/``, and adds "Data Docs" and "dbt docs" to the UI's
Browse menu. (issue 21) "Explain an alert / 解释预警": ``/safetynet-docs/explain/``
(search by alert_id) and ``/safetynet-docs/explain/<alert_id>?date=`` render one
alert's account (safetynet.explain) as HTML; each lookup is recorded in
``audit.explain_lookups`` with the Airflow user's name.

The pages show data-quality results and column documentation of a restricted
warehouse, so they are served to logged-in Airflow users only (the UI's
session cookie, or ``Authorization: Bearer <JWT>`` from ``POST /auth/token``);
a browser without a session is sent to the login page.
"""

from __future__ import annotations

import html
import mimetypes
from datetime import date
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safetynet import warehouse
from safetynet.config import Settings, project_home
from safetynet.explain import account, lookups, render, restore
from safetynet.quality import gate

PREFIX = "/safetynet-docs"
SITES = {
    "gx": (
        "Data Docs (data quality)",
        "written by every run of safetynet_daily (tasks check_raw and publish_feed) "
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
        "code{background:#eee;padding:0 .2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2rem .4rem;font-size:.85rem;text-align:left}"
        "</style></head>"
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


EXPLAIN_TITLE = "Explain an alert / 解释预警"
SEARCH_FORM = (
    f"<form method='get' action='{PREFIX}/explain/'>"
    "<label>预警编号 alert_id <input name='alert_id' size='40' required></label> "
    "<label>日期 date (optional) <input name='date' type='date'></label> "
    "<button type='submit'>解释 Explain</button></form>"
    "<p>The account of one alert: the delivered records (file, line, sha256) that made "
    "it, the rule version, the day's checks, the publication and the lineage. "
    "Every lookup is recorded (audit.explain_lookups).</p>"
)


def _user_name(user: object) -> str:
    get_name = getattr(user, "get_name", None)
    return str(get_name() if callable(get_name) else user)


def _explain_page(user: object, alert_id: str, day: str | None) -> HTMLResponse:
    """One alert's account as a page (blocking: run in a thread)."""
    settings = Settings.from_env()
    url, who = settings.warehouse_url, _user_name(user)
    warehouse.ensure_schema(url)  # audit.explain_lookups (a no-op once set up)
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        return _page(EXPLAIN_TITLE, f"<p>Not a date: {html.escape(day or '')}</p>", 400)
    try:
        found = account.explain(url, alert_id, on, settings.feed_dir, settings.landing_dir)
    except account.UnknownAlert as error:
        lookups.record(url, who, "web", "html", alert_id, on, False)
        body = f"<p>{html.escape(str(error))} (预警不存在)</p>{SEARCH_FORM}"
        return _page(EXPLAIN_TITLE, body, 404)
    except restore.RestoreRefused as error:  # (issue 23) a folded date's file is gone
        lookups.record(url, who, "web", "html", alert_id, on, True)
        body = f"<p>{html.escape(str(error))} (无法还原: 落地文件缺失或已变更)</p>{SEARCH_FORM}"
        return _page(EXPLAIN_TITLE, body, 409)
    lookups.record(url, who, "web", "html", alert_id, date.fromisoformat(found["alert_date"]), True)
    return _page(f"{EXPLAIN_TITLE}: {html.escape(alert_id)}", render.html_body(found))


async def _user_or_login(request: Request) -> tuple[object | None, Response | None]:
    try:
        return await authenticated_user(request), None
    except HTTPException as error:
        if error.status_code == 401:
            return None, _login_redirect(request)
        raise


def docs_app() -> FastAPI:
    app = FastAPI(title="Safetynet docs", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        try:
            await authenticated_user(request)
        except HTTPException:
            return _login_redirect(request)
        links = (
            "".join(
                f"<li><a href='{PREFIX}/{site}/index.html'>{title}</a></li>"
                for site, (title, _) in SITES.items()
            )
            + f"<li><a href='{PREFIX}/explain/'>{EXPLAIN_TITLE}</a></li>"
        )
        return _page("Safetynet docs", f"<ul>{links}</ul>")

    @app.get("/explain/", response_class=HTMLResponse)
    async def explain_search(
        request: Request, alert_id: str | None = None, day: str | None = Query(None, alias="date")
    ) -> Response:
        _, login = await _user_or_login(request)
        if login is not None:
            return login
        if alert_id:
            target = f"{PREFIX}/explain/{quote(alert_id.strip(), safe='')}"
            return RedirectResponse(target + (f"?date={quote(day)}" if day else ""), 303)
        return _page(EXPLAIN_TITLE, SEARCH_FORM)

    @app.get("/explain/{alert_id}", response_class=HTMLResponse)
    async def explain_alert(
        alert_id: str, request: Request, day: str | None = Query(None, alias="date")
    ) -> Response:
        user, login = await _user_or_login(request)
        if login is not None:
            return login
        return await run_in_threadpool(_explain_page, user, alert_id, day)

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
        {
            "name": EXPLAIN_TITLE,
            "href": f"{PREFIX}/explain/",
            "destination": "nav",
            "category": "browse",
            "url_route": "safetynet-explain",
        },
    ]
