"""Superset on the local warehouse (issue 22, platform part): `make superset`.

End to end on demo-like data (tests/superset_stack.py): every role logs in through
the REST API; the analyst's SQL Lab query on raw or staging fails with PostgreSQL's
own "permission denied" (the connection logs in as a role of safetynet_analyst), the
same query on a mart returns the warehouse's rows; the auditor's connection reads
the masked audit tables, the analyst's does not; the leader has no SQL Lab; the
printed login lines are those of the 0600 file and survive a second start; the
metadata lives in PostgreSQL; the stop closes the port. The unit tests read
superset_config.py and the Makefile without a server.
"""

from __future__ import annotations

import re
import runpy
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from superset_stack import SupersetStack, superset_stack_fixture  # noqa: F401

from safetynet_dev.stack import superset as stack_superset
from safetynet_dev.stack.ports import port_open

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "superset" / "superset_config.py"
ROLES = {"leader", "analyst", "auditor", "admin"}
PERMISSION_DENIED = re.compile(r"permission denied for (schema|table|relation) (raw|staging)")
e2e = pytest.mark.e2e
unit = pytest.mark.unit


def login_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("login ")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def error_text(answer) -> str:
    return " ".join(str(error.get("message", "")) for error in answer.json().get("errors", []))


# ----------------------------------------------------------------------------- e2e


@e2e
def test_login_lines_are_printed_and_kept_private(superset_stack: SupersetStack) -> None:
    printed = login_lines(superset_stack.output)
    assert [line.split()[1] for line in printed] == ["leader", "analyst", "auditor", "admin"]
    assert all(re.fullmatch(r"login \S+ \S+ \S{12,}", line) for line in printed), printed
    home = superset_stack.superset.home
    assert login_lines((home / "logins").read_text()) == printed
    assert superset_stack.url in superset_stack.output
    for secret in (home / "logins", home / "secret_key", superset_stack.superset.pg_logins_file):
        assert mode(secret) == 0o600, f"{secret}: {oct(mode(secret))}"


@e2e
def test_every_role_logs_in_and_a_wrong_password_does_not(
    superset_stack: SupersetStack,
) -> None:
    for role in ROLES:
        user, password = superset_stack.superset.password(role)
        assert superset_stack.token(user, password)
    user, password = superset_stack.superset.password("analyst")
    with pytest.raises(Exception, match="401"):
        superset_stack.token(user, password + "x")


@e2e
@pytest.mark.parametrize("schema", ["raw", "staging"])
def test_analyst_sql_lab_on_raw_or_staging_fails_in_postgres(
    superset_stack: SupersetStack, schema: str
) -> None:
    table = superset_stack.warehouse.query(
        "select table_name from information_schema.tables where table_schema = %s "
        "order by table_name limit 1",
        (schema,),
    )[0][0]
    analyst = superset_stack.api("analyst")
    database = superset_stack.database_id(analyst, "warehouse_analyst")
    answer = superset_stack.sql_lab(analyst, database, f"select * from {schema}.{table} limit 5")
    assert answer.status_code >= 400, answer.text[:500]
    assert PERMISSION_DENIED.search(error_text(answer)), answer.text[:500]
    assert "postgresql error" in error_text(answer).lower()


@e2e
def test_analyst_sql_lab_on_a_mart_returns_its_rows(superset_stack: SupersetStack) -> None:
    expected = superset_stack.warehouse.query(
        "select alert_date::text, count(*) from marts.monitoring_alerts group by 1 order by 1"
    )
    assert expected, "the demo-like days made no alert"
    analyst = superset_stack.api("analyst")
    database = superset_stack.database_id(analyst, "warehouse_analyst")
    answer = superset_stack.sql_lab(
        analyst,
        database,
        "select alert_date::text as day, count(*) as n from marts.monitoring_alerts "
        "group by 1 order by 1",
    )
    assert answer.status_code == 200, answer.text[:500]
    assert [(row["day"], row["n"]) for row in answer.json()["data"]] == expected


@e2e
def test_audit_tables_are_the_auditors_alone(superset_stack: SupersetStack) -> None:
    sql = "select count(*) as n from audit.load_batches"
    (expected,) = superset_stack.warehouse.query(sql)[0]
    auditor = superset_stack.api("auditor")
    answer = superset_stack.sql_lab(
        auditor, superset_stack.database_id(auditor, "warehouse_auditor"), sql
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["data"] == [{"n": expected}]
    # The auditor's connection still cannot read raw: PostgreSQL says no.
    raw = superset_stack.sql_lab(
        auditor,
        superset_stack.database_id(auditor, "warehouse_auditor"),
        "select count(*) from raw.rejected_lines",
    )
    assert raw.status_code >= 400 and "permission denied" in error_text(raw), raw.text[:500]
    # The analyst sees only the analyst's connection, which PostgreSQL keeps out of audit.
    analyst = superset_stack.api("analyst")
    names = {
        row["database_name"]
        for row in analyst.get(f"{superset_stack.url}/api/v1/database/").json()["result"]
    }
    assert names == {"warehouse_analyst"}
    denied = superset_stack.sql_lab(
        analyst, superset_stack.database_id(analyst, "warehouse_analyst"), sql
    )
    assert denied.status_code >= 400
    assert "permission denied for schema audit" in error_text(denied), denied.text[:500]


@e2e
def test_connections_log_in_as_read_only_postgres_roles(superset_stack: SupersetStack) -> None:
    memberships = dict(
        superset_stack.warehouse.query(
            "select m.rolname, g.rolname from pg_auth_members a "
            "join pg_roles m on m.oid = a.member join pg_roles g on g.oid = a.roleid "
            "where m.rolname in ('superset_analyst', 'superset_auditor')"
        )
    )
    assert memberships == {
        "superset_analyst": "safetynet_analyst",
        "superset_auditor": "safetynet_auditor",
    }
    settings = dict(
        superset_stack.warehouse.query(
            "select r.rolname, array_to_string(s.setconfig, ',') from pg_db_role_setting s "
            "join pg_roles r on r.oid = s.setrole "
            "where r.rolname in ('superset_analyst', 'superset_auditor')"
        )
    )
    assert set(settings) == {"superset_analyst", "superset_auditor"}
    assert all("default_transaction_read_only=on" in value for value in settings.values())
    # SQL Lab itself refuses current_user, current_setting and the pg_* views.
    analyst = superset_stack.api("analyst")
    answer = superset_stack.sql_lab(
        analyst,
        superset_stack.database_id(analyst, "warehouse_analyst"),
        "select current_role as who",
    )
    assert answer.json().get("data") == [{"who": "superset_analyst"}], answer.text[:500]


@e2e
def test_leader_opens_dashboards_but_not_sql_lab(superset_stack: SupersetStack) -> None:
    leader = superset_stack.api("leader")
    listed = leader.get(f"{superset_stack.url}/api/v1/dashboard/")
    assert listed.status_code == 200, listed.text[:300]
    database = superset_stack.database_id(superset_stack.api("analyst"), "warehouse_analyst")
    answer = superset_stack.sql_lab(leader, database, "select 1")
    assert answer.status_code in (401, 403), answer.text[:300]
    page = leader.get(f"{superset_stack.url}/sqllab/", allow_redirects=False)
    assert page.status_code != 200 or "SQL Lab" not in page.text


@e2e
def test_dashboards_are_shown_to_the_roles_of_access_yml(superset_stack: SupersetStack) -> None:
    """superset/access.yml (slug -> roles) is what each role's dashboard list shows."""
    import yaml

    access = yaml.safe_load((ROOT / "superset" / "access.yml").read_text(encoding="utf-8"))
    if not list((ROOT / "superset" / "assets").glob("*/metadata.yaml")):
        pytest.skip("no dashboard bundle in superset/assets yet")
    for role in ROLES:
        session = superset_stack.api(role)
        listed = session.get(f"{superset_stack.url}/api/v1/dashboard/?q=(page_size:100)")
        slugs = {row["slug"] for row in listed.json()["result"]}
        expected = {
            slug for slug, roles in access["dashboards"].items() if role in roles or role == "admin"
        }
        assert slugs & set(access["dashboards"]) == expected, (role, slugs)


@e2e
def test_metadata_lives_in_postgres(superset_stack: SupersetStack) -> None:
    users = {row[0] for row in superset_stack.metadata_query("select username from ab_user")}
    assert users >= ROLES
    roles = {row[0] for row in superset_stack.metadata_query("select name from ab_role")}
    assert roles >= {"leader", "analyst", "auditor", "Admin"}
    databases = {row[0] for row in superset_stack.metadata_query("select database_name from dbs")}
    assert databases == {"warehouse_analyst", "warehouse_auditor"}
    # The stored URLs carry the role, never a password in clear.
    uris = [row[0] for row in superset_stack.metadata_query("select sqlalchemy_uri from dbs")]
    assert all("superset_a" in uri and "XXXXXXXXXX" in uri for uri in uris), uris
    assert not list((superset_stack.superset.home / "data").glob("*.db")), "a SQLite file"


@e2e
def test_the_ui_speaks_chinese_and_loads_nothing_from_outside(
    superset_stack: SupersetStack,
) -> None:
    import requests

    page = requests.get(f"{superset_stack.url}/login/", timeout=60)
    assert page.status_code == 200
    policy = page.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "http" not in policy, policy
    sources = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page.text)
    assert all(source.startswith(superset_stack.url) for source in sources), sources
    assert '"locale": "zh"' in page.text or "&#34;locale&#34;: &#34;zh&#34;" in page.text
    # Before login: the Chinese language pack and nothing else (no dashboards, no data).
    pack = requests.get(f"{superset_stack.url}/superset/language_pack/zh/", timeout=60)
    assert pack.status_code == 200 and pack.json()["locale_data"]["superset"], pack.text[:200]
    anonymous = requests.get(f"{superset_stack.url}/api/v1/dashboard/", timeout=60)
    assert anonymous.status_code == 401, anonymous.status_code
    public = superset_stack.metadata_query(
        "select p.name, v.name from ab_permission_view_role pvr "
        "join ab_role r on r.id = pvr.role_id "
        "join ab_permission_view pv on pv.id = pvr.permission_view_id "
        "join ab_permission p on p.id = pv.permission_id "
        "join ab_view_menu v on v.id = pv.view_menu_id where r.name = 'Public'"
    )
    assert public == [("can_language_pack", "Superset")]


@e2e
def test_a_second_start_keeps_the_logins(superset_stack: SupersetStack) -> None:
    before = login_lines(superset_stack.output)
    again = subprocess.run(
        [sys.executable, "-m", "safetynet_dev.stack.superset", "start"],
        env=superset_stack.superset.environ,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert login_lines(again.stdout) == before
    user, password = superset_stack.superset.password("auditor")
    assert superset_stack.token(user, password)


@e2e
def test_stop_closes_the_port(superset_stack: SupersetStack) -> None:
    """What `make stop` runs for Superset; started again for the tests after this one."""
    superset = superset_stack.superset
    stopped = subprocess.run(
        [sys.executable, "-m", "safetynet_dev.stack.superset", "stop"],
        env=superset.environ,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not port_open(superset.port)
    assert not superset.running()
    superset.serve()
    assert superset.healthy()


# ----------------------------------------------------------------------------- unit


def load_config(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict:
    for name in ("SAFETYNET_ENVIRONMENT", "SUPERSET_SECRET_KEY", "SUPERSET_SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPERSET_DATABASE_URI", "postgresql+psycopg2://u:p@h/superset")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


@unit
@pytest.mark.parametrize(
    "key", ["", "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET", "thisISaSECRET_1234", "short"]
)
def test_a_deployment_refuses_a_missing_or_default_key(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    with pytest.raises(RuntimeError, match="SUPERSET_SECRET_KEY"):
        load_config(monkeypatch, SUPERSET_SECRET_KEY=key)


@unit
def test_the_key_comes_from_a_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("k" * 48 + "\n")
    settings = load_config(monkeypatch, SUPERSET_SECRET_KEY_FILE=str(secret))
    assert settings["SECRET_KEY"] == "k" * 48


@unit
def test_config_is_chinese_offline_and_role_based(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_config(monkeypatch, SAFETYNET_ENVIRONMENT="local", SUPERSET_SECRET_KEY="dev")
    assert settings["BABEL_DEFAULT_LOCALE"] == "zh"
    assert set(settings["LANGUAGES"]) == {"zh", "en"}
    assert settings["MAPBOX_API_KEY"] == ""
    base_maps = [url for url, _ in settings["DECKGL_BASE_MAP"]]
    assert len(base_maps) == 1 and base_maps[0].startswith("tile://http://127.0.0.1:"), base_maps
    assert settings["FEATURE_FLAGS"]["DASHBOARD_RBAC"] is True
    policy = settings["TALISMAN_CONFIG"]["content_security_policy"]
    sources = [
        s for value in policy.values() for s in ([value] if isinstance(value, str) else value)
    ]
    assert not [s for s in sources if "." in s or "http" in s], sources


@unit
def test_logins_are_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "superset" / "logins"
    first = stack_superset.generated_logins(path)
    assert [line.split()[1] for line in first] == list(stack_superset.ROLES)
    assert mode(path) == 0o600
    assert stack_superset.generated_logins(path) == first


@unit
def test_make_stop_stops_superset_and_make_superset_starts_it() -> None:
    makefile = (ROOT / "Makefile").read_text()
    stop = re.search(r"^stop:.*?(?=^\S|\Z)", makefile, re.M | re.S)
    assert stop and "safetynet_dev.stack.superset stop" in stop.group(0)
    start = re.search(r"^superset:.*?(?=^\S|\Z)", makefile, re.M | re.S)
    assert start and "safetynet_dev.stack.superset start" in start.group(0)
    assert "superset/requirements.lock" in makefile
    lock = (ROOT / "superset" / "requirements.lock").read_text().splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==\S+", line) for line in pins)
    assert any(line.startswith("apache_superset==6.1.") for line in pins)


@unit
def test_make_superset_keeps_its_metadata_in_the_database_superset() -> None:
    local = stack_superset.Superset({})
    assert local.metadata_db == "superset" and local.port == 8088
    moved = stack_superset.Superset({"SAFETYNET_SUPERSET_DB": "s2", "SAFETYNET_SUPERSET_PORT": "9"})
    assert moved.metadata_db == "s2" and moved.port == 9
