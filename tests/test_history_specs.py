"""Unit tests of the history specs, the generated history.sql and the digest a fold
records (issue 23)."""

from __future__ import annotations

import pytest

from safetynet import config, warehouse
from safetynet.history import fold, specs
from safetynet.history.sql import history_sql

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.table)
def test_spec_is_consistent(spec: specs.Spec) -> None:
    names = [name for name, _ in spec.columns]
    assert names and len(names) == len(set(names))
    assert spec.key and set(spec.key) <= set(names)
    assert spec.date_column in names
    assert spec.stable, "every spec keeps a stable part"
    stored = [s.name for s in spec.stable + spec.volatile]
    assert len(stored) == len(set(stored))
    assert not set(stored) & set(spec.key)
    # volatile columns are columns of the snapshot, or split out of one (evidence)
    for column in spec.volatile:
        assert column.name in names or column.expr, column.name
    # every public column is rebuilt: key, stored under its own name, the date,
    # raw's batch/line, or derived
    for name in names:
        output = spec.output(name)
        assert output, name
        if name not in spec.derived and output.startswith(("h.", "v.")):
            stored_type = {s.name: s.type for s in spec.stable + spec.volatile}[name]
            assert stored_type == spec.column_type(name), name
    assert set(spec.derived) <= set(names)
    # the tables whose history the point in time reads are folded first (compaction)
    assert set(spec.reads) <= set(specs.BY_NAME) - {spec.table}
    for table in spec.reads:
        assert f"{table}__" in spec.joins, table


def test_history_sql_is_generated_from_the_specs() -> None:
    path = warehouse.SQL_DIR / "history.sql"
    assert path.read_text(encoding="utf-8") == history_sql(), (
        "regenerate: python -m safetynet.history sql > include/safetynet/sql/history.sql"
    )
    # runs after roles.sql (its grants name the roles)
    files = [p.name for p in warehouse.setup_files()]
    assert files.index("history.sql") > files.index("roles.sql")


def test_history_sql_never_reads_recent_tables_nor_grants_raw() -> None:
    text = history_sql()
    assert "__recent" not in text
    for line in text.splitlines():
        if line.startswith("grant") and '"raw".' in line:
            assert "analyst" not in line and "auditor" not in line, line


@pytest.mark.parametrize(("value", "expected"), [(None, 14), ("14", 14), ("1", 1), ("30", 30)])
def test_snapshot_window_days(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv("SAFETYNET_SNAPSHOT_WINDOW_DAYS", raising=False)
    else:
        monkeypatch.setenv("SAFETYNET_SNAPSHOT_WINDOW_DAYS", value)
    assert config.snapshot_window_days() == expected


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", " 2 days"])
def test_snapshot_window_days_rejects(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SAFETYNET_SNAPSHOT_WINDOW_DAYS", value)
    with pytest.raises(config.SettingError, match="SAFETYNET_SNAPSHOT_WINDOW_DAYS"):
        config.snapshot_window_days()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "hashes"), ("full", "full"), (" HASHES ", "hashes")]
)
def test_verify_mode(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str) -> None:
    from safetynet.history import fold

    if value is None:
        monkeypatch.delenv(fold.VERIFY_ENV, raising=False)
    else:
        monkeypatch.setenv(fold.VERIFY_ENV, value)
    assert fold.verify_mode() == expected
    monkeypatch.setenv(fold.VERIFY_ENV, "md5")
    with pytest.raises(ValueError, match=fold.VERIFY_ENV):
        fold.verify_mode()


def test_every_version_table_gets_its_row_hash() -> None:
    """An existing warehouse gains row_hash, filled for its open versions (issue 23)."""
    text = history_sql()
    for spec in specs.SPECS:
        for suffix in ["__hist", "__histv"] if spec.volatile else ["__hist"]:
            table = f'"{spec.schema}"."{spec.table}{suffix}"'
            assert f"alter table {table} add column if not exists row_hash bigint;" in text
            assert f"update {table} set row_hash = hashtextextended(" in text
            # closing a version is never a HOT update: no free space kept in the pages
            assert f"alter table {table} set (fillfactor = 100);" in text


def test_recorded_digest_follows_every_count_and_sum() -> None:
    """audit.history_days' digest of X: the same staged rows give the same digest on
    any path (a re-run compares equal); a changed count or hash sum of any version
    table gives another."""
    sums: dict[str, tuple[int, int] | None] = {"__hist": (3, 17), "__histv": (3, -5)}
    digest = fold.Staged(3, sums).digest()
    assert digest == fold.Staged(3, dict(reversed(list(sums.items())))).digest()
    assert digest.rows == 3 and len(digest.text_md5) == 32
    others = [
        fold.Staged(3, {**sums, "__histv": (3, -4)}),
        fold.Staged(3, {**sums, "__hist": (2, 17)}),
        fold.Staged(4, sums),
        fold.Staged(3, {"__hist": (3, 17)}),
    ]
    assert len({digest.text_md5, *(o.digest().text_md5 for o in others)}) == 5
