"""The architecture, checked: what runs in production is apart from what develops it.

- every ``.py`` Airflow imports from its plugins folder defines an Airflow plugin;
- the runtime package (``include/safetynet``) imports nothing of the tooling
  (``tools/safetynet_dev``), and the image ships neither the tooling nor the tests;
- installed as a wheel (as in the image), the package carries its SQL and the row
  filter's C source, and finds the dbt project and the checks through SAFETYNET_HOME.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "include" / "safetynet"
TOOLING = ROOT / "tools" / "safetynet_dev"

pytestmark = pytest.mark.unit


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _defines_plugin(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.ClassDef)
        and any(
            getattr(base, "id", getattr(base, "attr", "")) == "AirflowPlugin" for base in node.bases
        )
        for node in tree.body
    )


def test_every_module_in_the_plugins_folder_is_an_airflow_plugin() -> None:
    modules = sorted(ROOT.joinpath("plugins").rglob("*.py"))
    assert modules, "the plugins folder holds the UI plugin"
    assert [m.name for m in modules if not _defines_plugin(m)] == []


def test_the_runtime_imports_nothing_of_the_tooling() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imports(path) if n.startswith("safetynet_dev")
        )
        for path in RUNTIME.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    for folder in ("dags", "plugins"):
        for path in ROOT.joinpath(folder).rglob("*.py"):
            assert not any(n.startswith("safetynet_dev") for n in _imports(path)), path


def test_the_image_ships_neither_tooling_nor_tests() -> None:
    ignored = ROOT.joinpath(".dockerignore").read_text().split()
    assert "tools/" in ignored and "tests/" in ignored
    dockerfile = ROOT.joinpath("Dockerfile").read_text()
    assert "PYTHONPATH" not in dockerfile
    assert "COPY tools" not in dockerfile and "COPY tests" not in dockerfile


def _image_context(folder: Path) -> Path:
    """What the Dockerfile copies to build the package: pyproject.toml and include/."""
    shutil.copytree(RUNTIME.parent, folder / "include", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", folder)
    return folder


def test_the_installed_package_finds_its_files(tmp_path: Path) -> None:
    """Build the wheel the image installs; install it alone into a folder and import it
    there with SAFETYNET_HOME pointing at the project: SQL, C source, dbt project and
    checks are found without the source tree on the path."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(_image_context(tmp_path / "context")),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("safetynet-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "safetynet/ingest/native/rowfilter.c" in names
    assert any(n.startswith("safetynet/sql/") and n.endswith(".sql") for n in names)
    assert not any(n.startswith("safetynet_dev") for n in names)
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    probe = (
        "import safetynet, safetynet.config as c, safetynet.ingest.rowfilter as r\n"
        "from pathlib import Path\n"
        "assert Path(safetynet.__file__).is_relative_to(Path(r'%s'))\n"
        "assert r.SOURCE.is_file(), r.SOURCE\n"
        "assert (c.dbt_project_dir() / 'dbt_project.yml').is_file()\n"
        "assert (c.checks_dir() / 'delivery.yml').is_file()\n"
    ) % (tmp_path / "site")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"PYTHONPATH": str(tmp_path / "site"), "SAFETYNET_HOME": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
