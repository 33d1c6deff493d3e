"""Static checks of the Docker stack: docker-compose.yml, Dockerfile, .env.example.

No Docker engine is needed (none is on the project's machines): the compose file
is read with PyYAML, which resolves its anchors and merge keys as Compose does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

ONE_SHOT = {"airflow-init"}
WORKERS = {"worker-1", "worker-2"}
AIRFLOW = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer", *WORKERS}
SERVICES = {"postgres", "redis", *AIRFLOW, "superset"}
CODE_MOUNTS = {"./dags", "./plugins", "./dbt_project", "./expectations"}
STATE_DIRS = ("SAFETYNET_LANDING_DIR", "SAFETYNET_FEED_DIR", "SAFETYNET_REPORTS_DIR")
# The settings the platform reads (include/safetynet/config.py, notify.py) and those a
# distributed Airflow 3 deployment cannot run without: the same in every Airflow service.
AIRFLOW_ENV = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "SAFETYNET_SOURCE_TIMEOUT",
    "SAFETYNET_NOTIFY_WEBHOOK",
    *STATE_DIRS,
)
# (issue 20) Secrets only where they are used: the warehouse login where the pipeline's
# code runs or sets up the warehouse, the pseudonym key where loads run, the UI
# passwords in the api-server.
WAREHOUSE_ENV = ("AIRFLOW_CONN_WAREHOUSE", "SAFETYNET_DB_PASSWORD")
WAREHOUSE_USERS = {"airflow-init", *WORKERS}
KEY_FILE = "/run/secrets/pseudonym_key"
ROLES = {"viewer", "user", "op", "admin"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN|AUTH$")
NOT_SECRETS = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", "SUPERSET_SECRET_KEY_FILE"}
# (issue 22) Superset's secrets: files given to the superset service alone.
SUPERSET_SECRETS = {
    "superset_database_uri",
    "superset_secret_key",
    "superset_logins",
    "superset_connections",
}
REQUIRED_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)")
URL_PASSWORD = re.compile(r"://[^:/@\s\"']*:([^@\s\"']+)@")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def mounts(service: dict) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of every volume entry, short or long syntax."""
    found = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            found.append((entry.get("source", ""), entry["target"], bool(entry.get("read_only"))))
        else:
            parts = entry.split(":")
            mode = parts[2] if len(parts) > 2 else ""
            found.append((parts[0], parts[1], "ro" in mode.split(",")))
    return found


def interpolated(text: str) -> set[str]:
    """Names Compose substitutes from the environment / .env (``$$`` is a literal $)."""
    text = text.replace("$$", "")
    return {braced or bare for braced, bare in VARIABLE.findall(text)}


def strings(node: object) -> list[str]:
    """Every string of the parsed file (comments are not interpolated by Compose)."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [node] if isinstance(node, str) else []


def env_example_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_every_service_is_defined(services: dict) -> None:
    assert set(services) >= SERVICES, f"missing: {sorted(SERVICES - set(services))}"


def test_airflow_services_build_the_project_image_and_use_celery(services: dict) -> None:
    images = set()
    for name in AIRFLOW:
        service = services[name]
        build = service.get("build")
        assert isinstance(build, dict), f"{name}: no build section"
        context = (ROOT / build.get("context", ".")).resolve()
        assert context == ROOT, f"{name}: builds from {context}"
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
        assert environment(service).get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name
        images.add(service.get("image"))
    assert len(images) == 1, f"Airflow services should share one image, got {images}"


def test_workers_run_celery_and_reach_the_execution_api(services: dict) -> None:
    for name in WORKERS:
        command = services[name]["command"]
        command = command if isinstance(command, str) else " ".join(command)
        if command.split()[:2] == ["bash", "/opt/safetynet/docker/worker.sh"]:
            script = (ROOT / "docker" / "worker.sh").read_text(encoding="utf-8")
            command = re.findall(r"^exec (.*)$", script, re.M)[-1]
        assert command.split()[:3] == ["airflow", "celery", "worker"], name
    for name in AIRFLOW:
        url = environment(services[name])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        assert re.fullmatch(r"http://api-server:8080/execution/?", url), f"{name}: {url}"


def test_airflow_services_share_the_whole_configuration(services: dict) -> None:
    reference = environment(services["scheduler"])
    missing = [var for var in AIRFLOW_ENV if var not in reference]
    assert not missing, f"scheduler environment lacks {missing}"
    for name in AIRFLOW:
        env = environment(services[name])
        differs = [var for var in AIRFLOW_ENV if env.get(var) != reference[var]]
        assert not differs, f"{name} differs from the scheduler in {differs}"


def test_api_server_publishes_8080_and_checks_health(services: dict) -> None:
    api = services["api-server"]
    assert any(str(port).endswith(":8080") for port in api["ports"])
    assert "/api/v2/monitor/health" in " ".join(api["healthcheck"]["test"])


def test_bind_mount_sources_exist_and_named_volumes_are_declared(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for source, _, _ in mounts(service):
            if source.startswith((".", "/")):
                path = (ROOT / source).resolve()
                assert path.is_relative_to(ROOT), f"{name}: {source} is outside the repo"
                assert path.exists(), f"{name}: bind-mount source {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_code_is_mounted_read_only_and_state_is_shared(services: dict) -> None:
    for name in AIRFLOW:
        service_mounts = mounts(services[name])
        read_only = {source for source, _, ro in service_mounts if ro}
        assert read_only >= CODE_MOUNTS, f"{name}: not read-only: {CODE_MOUNTS - read_only}"
        by_target = {target: source for source, target, _ in service_mounts}
        for var in STATE_DIRS:
            target = environment(services[name])[var]
            assert not by_target.get(target, ".").startswith("."), (
                f"{name}: {var}={target} is not on a named volume shared by the workers"
            )
    state = {
        tuple(src for src, _, _ in mounts(services[name]) if not src.startswith("."))
        for name in WORKERS
    }
    assert len(state) == 1, f"workers mount different volumes: {state}"


def test_env_file_is_dotenv_which_git_ignores(compose: dict) -> None:
    for name, service in compose["services"].items():
        env_files = service.get("env_file", [])
        env_files = [env_files] if isinstance(env_files, str | dict) else env_files
        for entry in env_files:
            path = entry["path"] if isinstance(entry, dict) else entry
            assert path in (".env", "./.env"), f"{name}: env_file {path}"
    assert ENV_EXAMPLE.is_file()
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored or "/.env" in ignored, ".env must be git-ignored"


def test_env_example_lists_every_interpolated_variable(compose: dict) -> None:
    used = interpolated("\n".join(strings(compose)))
    assert used, "the compose file interpolates nothing: is the parser wrong?"
    missing = used - env_example_names()
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_interpolation_parser() -> None:
    text = 'a: "${A:?x}" b: ${B:-1} c: $C d: "$${NOT_ME}" e: $$ALSO_NOT'
    assert interpolated(text) == {"A", "B", "C"}


def test_no_literal_secret_in_the_compose_file(compose: dict) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert not re.search(r"(?i)(password|passwd|secret)\s*=\s*[^\s$\"'{]", text)
    assert not re.search(r"--requirepass\s+(?!\\?[\"']?\$)", text)
    for password in URL_PASSWORD.findall(text):
        assert REQUIRED_VAR.fullmatch(password), f"literal password in a URL: {password!r}"
    for name, service in compose["services"].items():
        for var, value in environment(service).items():
            if SECRET_NAME.search(var) and var not in NOT_SECRETS:
                assert REQUIRED_VAR.fullmatch(value), (
                    f"{name}: {var} must be a required ${{VAR:?...}} from .env, not a value"
                )


def test_dockerfile_installs_the_lock_and_the_celery_pins() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    install = " ".join(re.findall(r"pip install(?:\\\n|[^\n])*", dockerfile))
    assert "requirements.lock" in install and "requirements-celery.txt" in install
    assert not re.search(r"^COPY \. ", dockerfile, re.M), "COPY . would bake .env into the image"


def test_celery_pins_are_exact_and_agree_with_the_lock() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = path.read_text(encoding="utf-8").splitlines()
        entries = [line.split("#")[0].strip() for line in lines]
        pairs = [entry.split("==") for entry in entries if entry]
        assert all(len(pair) == 2 for pair in pairs), f"{path.name}: unpinned line"
        return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}

    celery = pins(ROOT / "requirements-celery.txt")
    assert {"apache-airflow-providers-celery", "celery", "redis"} <= set(celery)
    lock = pins(ROOT / "requirements.lock")
    differ = {name for name in set(celery) & set(lock) if celery[name] != lock[name]}
    assert not differ, f"pinned differently in the two files: {sorted(differ)}"


def test_every_long_running_service_has_a_healthcheck(services: dict) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", f"{name}: a one-shot must not restart"
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: {check['test']}"


def test_dependencies_wait_for_health(services: dict) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            expected = "service_completed_successfully" if target in ONE_SHOT else "service_healthy"
            assert rule.get("condition") == expected, f"{name} -> {target}: {rule}"
    for name in AIRFLOW - ONE_SHOT:
        assert {"postgres", "redis", "airflow-init"} <= set(services[name]["depends_on"]), name
    for name in WORKERS:
        assert "api-server" in services[name]["depends_on"], name


def test_container_scripts_exist_and_postgres_init_gets_its_variables(services: dict) -> None:
    for name, service in services.items():
        command = service.get("command") or []
        command = command.split() if isinstance(command, str) else command
        for word in command:
            if word.startswith("/opt/safetynet/docker/"):
                assert (ROOT / word.removeprefix("/opt/safetynet/")).is_file(), name
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text(encoding="utf-8")
    needed = set(re.findall(r"^\\getenv\s+\w+\s+(\w+)", init_sql, re.M))
    assert needed, "postgres-init.sql reads no password from the environment"
    assert needed <= set(environment(services["postgres"])), needed


def service_secrets(service: dict) -> set[str]:
    return {
        entry["source"] if isinstance(entry, dict) else entry
        for entry in service.get("secrets") or []
    }


def test_no_service_gets_the_whole_env_file(compose: dict) -> None:
    """.env holds every password of the stack: Compose interpolates each one into the
    services that name it, and no container receives the file (env_file)."""
    for name, service in compose["services"].items():
        assert not service.get("env_file"), f"{name}: env_file hands it every secret"


def test_the_pseudonym_key_reaches_only_the_workers_as_a_secret_file(compose: dict) -> None:
    services = compose["services"]
    declared = compose.get("secrets") or {}
    source = declared.get("pseudonym_key", {}).get("file", "")
    assert source.startswith("./secrets/"), f"pseudonym_key secret file: {source!r}"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "/secrets/" in ignored or "secrets/" in ignored, "./secrets/ must be git-ignored"
    docker_ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "secrets/" in docker_ignored or "secrets" in docker_ignored
    for name, service in services.items():
        env = environment(service)
        assert "SAFETYNET_PSEUDONYM_KEY" not in env, f"{name}: the key as a variable"
        assert env.get("SAFETYNET_ENVIRONMENT", "") in ("", "production"), (
            f"{name}: SAFETYNET_ENVIRONMENT=local would accept development keys"
        )
        if name in WORKERS:
            assert "pseudonym_key" in service_secrets(service), name
            assert env.get("SAFETYNET_PSEUDONYM_KEY_FILE") == KEY_FILE, name
        else:
            assert "pseudonym_key" not in service_secrets(service), f"{name} has the key"
            assert "SAFETYNET_PSEUDONYM_KEY_FILE" not in env, name
    assert "SAFETYNET_PSEUDONYM_KEY" not in env_example_names()
    assert "SAFETYNET_ENVIRONMENT" not in DOCKERFILE.read_text(encoding="utf-8")
    worker_script = (ROOT / "docker" / "worker.sh").read_text(encoding="utf-8")
    assert "config.pseudonym_key()" in worker_script, "a worker must check its key first"


def test_the_warehouse_login_reaches_only_the_services_that_use_it(services: dict) -> None:
    values = set()
    for name, service in services.items():
        env = environment(service)
        for var in WAREHOUSE_ENV:
            if name in WAREHOUSE_USERS:
                assert var in env, f"{name} lacks {var}"
                values.add((var, env[var]))
            else:
                assert var not in env, f"{name} does not need {var}"
    assert len(values) == len(WAREHOUSE_ENV), f"the users differ: {values}"


def test_ui_users_have_roles_and_no_shared_admin(services: dict) -> None:
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import (
        SimpleAuthManagerRole,
    )

    value = environment(services["api-server"])["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
    default = re.fullmatch(r"\$\{AIRFLOW_UI_USERS:-([^}]*)\}", value)
    assert default, f"users should default from AIRFLOW_UI_USERS: {value}"
    example = re.search(r"^AIRFLOW_UI_USERS=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    assert example and example.group(1) == default.group(1)
    users = dict(entry.split(":")[:2] for entry in default.group(1).split(","))
    assert set(users.values()) <= ROLES
    assert {role.upper() for role in ROLES} <= set(SimpleAuthManagerRole.__members__)
    assert users.get("analyst") == "viewer" and users.get("auditor") == "viewer", users
    assert "op" in users.values() and list(users.values()).count("admin") == 1, users
    assert "admin" not in users, "no account named admin: one per person or duty"
    # Passwords: a secret file the api-server alone gets; nothing in .env.
    for name, service in services.items():
        has = "ui_passwords" in service_secrets(service)
        assert has == (name == "api-server"), f"{name}: ui_passwords secret {has}"
    script = (ROOT / "docker" / "api-server.sh").read_text(encoding="utf-8")
    assert "/run/secrets/ui_passwords" in script
    assert not {n for n in env_example_names() if "ADMIN_PASSWORD" in n}


def test_superset_runs_its_own_image_on_the_same_postgres(compose: dict) -> None:
    """(issue 22) Superset: its own image from its own lock, metadata and warehouse on
    the stack's PostgreSQL, every secret a file only it receives, strict (no local key)."""
    services = compose["services"]
    superset = services["superset"]
    build = superset["build"]
    dockerfile = (ROOT / build.get("context", ".") / build["dockerfile"]).resolve()
    assert dockerfile.is_relative_to(ROOT / "superset") and dockerfile.is_file()
    text = dockerfile.read_text(encoding="utf-8")
    assert "pip install" in text and "superset/requirements.lock" in text
    assert "SUPERSET_CONFIG_PATH=/opt/superset/superset_config.py" in text
    assert superset["image"] not in {s.get("image") for n, s in services.items() if n in AIRFLOW}
    entrypoint = (ROOT / "superset" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert "superset db upgrade" in entrypoint and "provision.py setup import access" in entrypoint
    env = environment(superset)
    assert env.get("SAFETYNET_ENVIRONMENT", "") == "", "a deployment refuses weak keys"
    assert not set(env) & {"SUPERSET_SECRET_KEY", "SUPERSET_DATABASE_URI", *WAREHOUSE_ENV}
    for var, value in env.items():
        if var.endswith(("_FILE", "_LOGINS", "_CONNECTIONS")):
            assert value.startswith("/run/secrets/"), f"{var}={value}"
    assert service_secrets(superset) == SUPERSET_SECRETS
    declared = compose["secrets"]
    for name in SUPERSET_SECRETS:
        assert declared[name]["file"].startswith("./secrets/"), name
    for name, service in services.items():
        if name != "superset":
            assert not service_secrets(service) & SUPERSET_SECRETS, f"{name} has a Superset secret"
    assert set(superset["depends_on"]) >= {"postgres", "airflow-init"}
    assert "/health" in " ".join(superset["healthcheck"]["test"])
    assert all(str(port).startswith("127.0.0.1:") for port in superset["ports"])


LINEAGE_PROFILE = {"marquez-db", "marquez", "marquez-web"}


def test_marquez_is_optional_and_the_lineage_config_holds_no_secret(compose: dict) -> None:
    """(issue 21) Marquez runs only with ``--profile marquez``; no Airflow service waits
    for it. Every Airflow service has the same OpenLineage settings: the project's
    extractor, the file transport by default (http to Marquez when
    SAFETYNET_LINEAGE_TRANSPORT=http), and no password, key or credentialed URL."""
    services = compose["services"]
    for name in LINEAGE_PROFILE:
        assert services[name].get("profiles") == ["marquez"], name
    for name, service in services.items():
        if name not in LINEAGE_PROFILE:
            assert not service.get("profiles"), f"{name} must start without a profile"
            assert not set(service.get("depends_on") or {}) & LINEAGE_PROFILE, name
    configs = set()
    for name in AIRFLOW:
        env = environment(services[name])
        lineage = {k: v for k, v in env.items() if "OPENLINEAGE" in k}
        assert "AIRFLOW__OPENLINEAGE__TRANSPORT" not in lineage, "it would override the type"
        assert lineage["AIRFLOW__OPENLINEAGE__EXTRACTORS"].startswith("safetynet.lineage.")
        assert lineage["OPENLINEAGE__TRANSPORT__TYPE"] == "${SAFETYNET_LINEAGE_TRANSPORT:-file}"
        assert lineage["OPENLINEAGE__TRANSPORT__URL"].startswith("http://marquez:")
        for var, value in lineage.items():
            assert not SECRET_NAME.search(var), f"{name}: {var} in the lineage config"
            assert not URL_PASSWORD.search(value) and "@" not in value, f"{name}: {var}"
            assert not interpolated(value) - {"SAFETYNET_LINEAGE_TRANSPORT"}, f"{name}: {var}"
        configs.add(tuple(sorted(lineage.items())))
    assert len(configs) == 1, "the Airflow services differ in their lineage settings"
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert re.search(r"^SAFETYNET_LINEAGE_TRANSPORT=file$", example, re.M)
