"""Superset's side of ``make superset`` (issue 22): run with Superset's own Python
(``.venv-superset/bin/python superset/provision.py setup|import|access``) by
tools/safetynet_dev/stack/superset.py, after ``superset db upgrade`` and ``superset init``.

* ``setup``: the two warehouse connections of superset/access.yml (fixed uuids; each
  logs in as its own PostgreSQL role, so PostgreSQL enforces what it may read), the
  roles ``leader`` (Gamma without SQL Lab), ``analyst`` and ``auditor`` (Gamma +
  sql_lab + their connections) and one user per role plus ``admin``.
* ``import``: every folder of superset/assets/ (Superset's export layout) through
  Superset's assets importer, which overwrites what is there (the dashboards CLI
  keeps old charts and datasets); ``setup`` runs again after it, so a bundle's
  databases/*.yaml never replaces the connections' logins.
* ``access``: each dashboard of access.yml gets its roles (DASHBOARD_RBAC) and is
  published.

Secrets come from files (0600) named by the environment, never from the command line:
``SAFETYNET_SUPERSET_LOGINS`` (lines ``login <role> <user> <password>``) and
``SAFETYNET_SUPERSET_CONNECTIONS`` (JSON: connection name -> SQLAlchemy URL).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ACCESS_FILE = HERE / "access.yml"
ASSETS_DIR = Path(os.environ.get("SAFETYNET_SUPERSET_ASSETS") or HERE / "assets")
# Superset role of each of our roles: Gamma reads dashboards and charts it is allowed;
# sql_lab adds SQL Lab. The connections' access comes from access.yml.
BASE_ROLES = {"leader": ["Gamma"], "analyst": ["Gamma", "sql_lab"], "auditor": ["Gamma", "sql_lab"]}
# Views a leader never gets, whatever Gamma holds: SQL Lab and its saved/past queries.
SQL_LAB_VIEWS = {"SQL Lab", "SQLLab", "Query", "SavedQuery", "Tab State", "TabStateView"}
NAMES = {
    "leader": ("领导", "Leader"),
    "analyst": ("分析员", "Analyst"),
    "auditor": ("审计员", "Auditor"),
    "admin": ("管理员", "Admin"),
}


def access() -> dict[str, Any]:
    return yaml.safe_load(ACCESS_FILE.read_text(encoding="utf-8"))


def read_logins() -> dict[str, tuple[str, str]]:
    """role -> (user, password) from the 0600 logins file."""
    logins = {}
    for line in Path(os.environ["SAFETYNET_SUPERSET_LOGINS"]).read_text().splitlines():
        word, role, user, password = line.split(" ", 3)
        if word == "login":
            logins[role] = (user, password)
    return logins


def setup_databases() -> dict[str, Any]:
    """The warehouse connections (name -> Database), each with its own login."""
    from superset.models.core import Database

    from superset import db, security_manager

    urls = json.loads(Path(os.environ["SAFETYNET_SUPERSET_CONNECTIONS"]).read_text())
    made = {}
    for name, spec in access()["databases"].items():
        key = uuid.UUID(spec["uuid"])
        database = db.session.query(Database).filter_by(uuid=key).one_or_none()
        database = database or db.session.query(Database).filter_by(database_name=name).first()
        if database is None:
            database = Database(database_name=name, uuid=key)
            db.session.add(database)
        database.database_name = name
        database.set_sqlalchemy_uri(urls[name])
        database.expose_in_sqllab = True
        database.allow_run_async = False
        database.allow_dml = False
        database.allow_ctas = False
        database.allow_cvas = False
        database.allow_file_upload = False
        db.session.flush()
        security_manager.add_permission_view_menu("database_access", database.perm)
        made[name] = database
    db.session.commit()
    return made


def is_sql_lab(permission_view: Any) -> bool:
    view = permission_view.view_menu.name
    return view in SQL_LAB_VIEWS or (
        permission_view.permission.name == "menu_access" and view == "SQL Lab"
    )


def setup_roles(databases: dict[str, Any]) -> None:
    """leader, analyst, auditor: copies of Superset's roles plus their connections."""
    from superset import db
    from superset import security_manager as sm

    for role_name, bases in BASE_ROLES.items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        permissions = {pv for base in bases for pv in sm.find_role(base).permissions}
        if "sql_lab" not in bases:
            permissions = {pv for pv in permissions if not is_sql_lab(pv)}
        for name, spec in access()["databases"].items():
            if role_name in spec["roles"]:
                permissions.add(
                    sm.find_permission_view_menu("database_access", databases[name].perm)
                )
        role.permissions = sorted(permissions, key=lambda pv: pv.id)
    db.session.commit()


def allow_language_pack_before_login() -> None:
    """The login page asks for the Chinese language pack before anyone has logged in:
    the anonymous (Public) role may read it, and nothing else."""
    from flask import current_app

    from superset import db
    from superset import security_manager as sm

    public = sm.find_role(current_app.config["AUTH_ROLE_PUBLIC"])
    permission = sm.find_permission_view_menu("can_language_pack", "Superset")
    if public is not None and permission is not None:
        if permission not in public.permissions:
            public.permissions.append(permission)
        db.session.commit()


def setup_users() -> None:
    """One user per role; the password of the logins file, set again on every run."""
    from superset import db
    from superset import security_manager as sm

    for role_name, (user_name, password) in read_logins().items():
        role = sm.find_role("Admin" if role_name == "admin" else role_name)
        first, last = NAMES[role_name]
        user = sm.find_user(username=user_name)
        if user is None:
            email = f"{user_name}@safetynet.local"
            if not sm.add_user(user_name, first, last, email, [role], password):
                raise RuntimeError(f"could not create the Superset user {user_name}")
            continue
        user.roles = [role]
        user.active = True
        db.session.commit()
        sm.reset_password(user.id, password)


def bundle_contents(folder: Path) -> dict[str, str]:
    """A bundle's files by path inside it; metadata.yaml typed ``assets`` (the importer
    that overwrites) whatever type the export wrote."""
    contents = {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*.yaml"))
    }
    metadata = yaml.safe_load(contents["metadata.yaml"])
    metadata["type"] = "assets"
    contents["metadata.yaml"] = yaml.safe_dump(metadata)
    return contents


def import_bundles() -> list[str]:
    """Every folder of superset/assets/ holding a metadata.yaml, in name order."""
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.utils.core import override_user

    from superset import security_manager

    folders = sorted(p.parent for p in ASSETS_DIR.glob("*/metadata.yaml"))
    admin = security_manager.find_user(username=read_logins()["admin"][0])
    with override_user(admin):  # the importers check the current user's rights
        for folder in folders:
            ImportAssetsCommand(bundle_contents(folder)).run()
            print(f"imported {folder.name}")
    return [folder.name for folder in folders]


def apply_dashboard_access() -> None:
    """Roles and publication of each dashboard named in access.yml."""
    from superset.models.dashboard import Dashboard

    from superset import db
    from superset import security_manager as sm

    for slug, roles in access()["dashboards"].items():
        dashboard = db.session.query(Dashboard).filter_by(slug=slug).one_or_none()
        if dashboard is None:
            print(f"no dashboard {slug} (not imported yet): no roles set")
            continue
        dashboard.roles = [sm.find_role(name) for name in roles]
        dashboard.published = True
    db.session.commit()


def main(argv: list[str]) -> int:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        for step in argv:
            if step == "setup":
                setup_roles(setup_databases())
                setup_users()
                allow_language_pack_before_login()
            elif step == "import":
                import_bundles()
                setup_databases()  # the bundles' databases/*.yaml: back to our logins
            elif step == "access":
                apply_dashboard_access()
            else:
                print(f"usage: provision.py setup|import|access ... (got {step!r})")
                return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
