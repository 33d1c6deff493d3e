"""The synthetic landing generator and the damage helpers (no database needed).

Formats, ids (GB 11643) and the scripted boundary households are checked
against the independent reference of tests/reference/rules.py (its own
reading of contract sections 2, 3 and 5), not against the generator's
sources (the loader's specs, ``safetynet.identity``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from safetynet.ingest.manifest import file_facts
from safetynet_dev.synth import cli, damage, formats
from safetynet_dev.synth.cases import scripted_cases
from safetynet_dev.synth.generator import generate
from safetynet_dev.synth.reference import (
    DEFAULT_REGIONS_CSV,
    DEFAULT_STANDARDS_CSV,
    Standards,
    load_regions,
)
from safetynet_dev.synth.vocabulary import RARE_CHARACTERS

try:
    from tests.reference import rules
except ImportError:  # tests/ itself is on sys.path (pytest prepend mode)
    from reference import rules  # type: ignore[no-redef]

pytestmark = pytest.mark.unit

START = date(2026, 10, 1)
DAYS = 3
HOUSEHOLDS = 200
DATES = [START + timedelta(days=i) for i in range(DAYS)]

# contract section 2 as the independent reference reads it (not the loader's specs)
COLUMNS = {
    f"{spec.kind}.csv": ",".join(spec.names)
    for spec in (
        rules.HOUSEHOLDS,
        rules.PERSONS,
        rules.ENROLLMENTS,
        rules.CLAIMS,
        rules.DEATHS,
        rules.PROPERTIES,
    )
}
SOURCE_FILES = {
    "civil_affairs": ["households.csv", "persons.csv", "enrollments.csv"],
    "health": ["medical_claims.csv", "deaths.csv"],
    "housing": ["properties.csv"],
    "bank": ["balances_{}.txt"],
}
ID_COLUMNS = {
    "households.csv": 4,
    "persons.csv": 1,
    "medical_claims.csv": 2,
    "deaths.csv": 0,
    "properties.csv": 1,
    "balances": 2,
}
BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------- independent id check

normalise = rules.normalize_id  # section 3, the reference's own reading
is_valid = rules.is_valid_id


# ---------------------------------------------------------------- reading the landing zone


def file_names(source: str, day: date) -> list[str]:
    return [n.format(day.strftime("%Y%m%d")) for n in SOURCE_FILES[source]]


def encoding_of(source: str) -> str:
    return "gb18030" if source == "civil_affairs" else "utf-8"


def records(path: Path) -> list[list[str]]:
    """Data records (header dropped) of a generated file."""
    source = path.parent.parent.name
    data = path.read_bytes().removeprefix(BOM).decode(encoding_of(source))
    delimiter = "|" if source == "bank" else ","
    rows = list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))
    return rows if source == "bank" else rows[1:]


def id_values(landing: Path, day: date) -> Iterator[tuple[str, str]]:
    for source in SOURCE_FILES:
        for name in file_names(source, day):
            column = ID_COLUMNS.get(name, ID_COLUMNS["balances"] if source == "bank" else None)
            if column is None:
                continue
            for row in records(landing / source / day.isoformat() / name):
                yield name, row[column]


def all_bytes(landing: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(landing)): p.read_bytes()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("landing")
    summary = generate(landing, HOUSEHOLDS, START, DAYS, seed=7)
    return landing, summary


@pytest.fixture
def landing(generated: tuple[Path, dict], tmp_path: Path) -> Path:
    """A private copy to damage."""
    copy = tmp_path / "landing"
    shutil.copytree(generated[0], copy)
    return copy


def manifest(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))


def assert_manifest_matches(folder: Path) -> None:
    for entry in manifest(folder)["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["name"]
        assert entry["rows"] == len(records(folder / entry["name"])), entry["name"]


# ---------------------------------------------------------------- layout and manifests


def test_layout_manifests_and_summary(generated: tuple[Path, dict]) -> None:
    landing, summary = generated
    assert list(summary["days"]) == [d.isoformat() for d in DATES]
    for day in DATES:
        for source in SOURCE_FILES:
            folder = landing / source / day.isoformat()
            names = file_names(source, day)
            assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "_manifest.json"])
            text = (folder / "_manifest.json").read_text(encoding="utf-8")
            document = json.loads(text)
            assert text == json.dumps(document)  # the samples' exact JSON style
            assert list(document) == ["source", "extract_date", "files"]
            assert (document["source"], document["extract_date"]) == (source, day.isoformat())
            assert [f["name"] for f in document["files"]] == names
            assert all(list(f) == ["name", "rows", "sha256"] for f in document["files"])
            assert_manifest_matches(folder)
            written_last = (folder / "_manifest.json").stat().st_mtime_ns
            assert all((folder / n).stat().st_mtime_ns <= written_last for n in names)
            for f in document["files"]:
                assert summary["days"][day.isoformat()][f["name"]] == f["rows"]
    assert summary["days"][DATES[0].isoformat()]["households.csv"] == HOUSEHOLDS


def test_sample_manifest_style_is_the_same() -> None:
    sample = rules.CONTRACT_DIR / "samples" / "landing" / "bank" / "2026-10-01" / "_manifest.json"
    if not sample.exists():
        pytest.skip("contract samples not available")
    text = sample.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text))


# ---------------------------------------------------------------- encodings and conventions


def test_civil_affairs_gb18030_crlf_with_rare_names(generated: tuple[Path, dict]) -> None:
    folder = generated[0] / "civil_affairs" / START.isoformat()
    for name in SOURCE_FILES["civil_affairs"]:
        data = (folder / name).read_bytes()
        assert not data.startswith(BOM)
        text = data.decode("gb18030")  # strict
        assert data.count(b"\n") == data.count(b"\r\n") > 1 and data.endswith(b"\r\n")
        assert text.split("\r\n", 1)[0] == COLUMNS[name]
        assert all(len(r) == 7 for r in records(folder / name))
    names = [r[2] for r in records(folder / "persons.csv")]
    outside_gbk = "".join(n for n in names if not _encodes(n, "gbk"))
    assert set(RARE_CHARACTERS) <= set(outside_gbk)  # 𠮷 (U+20BB7), 䶮, 㛃, ...
    addresses = [r[3] for r in records(folder / "households.csv")]
    assert any("," in a for a in addresses), "no address needed quoting"


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def test_health_and_housing_utf8_lf(generated: tuple[Path, dict]) -> None:
    landing = generated[0]
    for source, bom in (("health", False), ("housing", True)):
        for day in DATES:
            for name in file_names(source, day):
                data = (landing / source / day.isoformat() / name).read_bytes()
                assert data.startswith(BOM) is bom, name
                text = data.removeprefix(BOM).decode("utf-8")
                assert b"\r" not in data and data.endswith(b"\n")
                assert text.split("\n", 1)[0] == COLUMNS[name]


def test_bank_pipe_no_header_fen(generated: tuple[Path, dict]) -> None:
    for day in DATES:
        path = generated[0] / "bank" / day.isoformat() / f"balances_{day:%Y%m%d}.txt"
        data = path.read_bytes()
        assert b"\r" not in data and not data.startswith(BOM)
        lines = data.decode("utf-8").splitlines()
        assert lines and not lines[0].startswith("bank_code")
        for line in lines:
            fields = line.split("|")
            assert len(fields) == 6, line
            bank, account, _, kind, fen, as_of = fields
            assert re.fullmatch(r"[A-Z]+", bank) and kind in ("D", "T", "W")
            assert re.fullmatch(r"[0-9]{4}\*{8}[0-9]{4}", account)
            assert re.fullmatch(r"[0-9]+", fen) and as_of == f"{day:%Y%m%d}"


def test_regions_household_ids_and_values(generated: tuple[Path, dict]) -> None:
    folder = generated[0] / "civil_affairs" / START.isoformat()
    regions = {r.code for r in load_regions(DEFAULT_REGIONS_CSV)}
    cities = {s.city for s in Standards.load(DEFAULT_STANDARDS_CSV).rows}
    for hid, region, ur, _, _, income, assessed in records(folder / "households.csv"):
        assert region in regions and region[:4] + "00" in cities
        assert re.fullmatch(region + r"[0-9]{8}", hid) and ur in ("城镇", "农村")
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", income)
        date.fromisoformat(assessed)
    for row in records(folder / "persons.csv"):
        assert row[3] in ("男", "女") and row[5] in ("户主", "配偶", "子女", "父母", "其他")
        assert row[6] in "01234"
        pid = normalise(row[1])
        assert pid[6:14] == row[4].replace("-", "") and int(pid[16]) % 2 == (row[3] == "男")
    for row in records(folder / "enrollments.csv"):
        assert row[2] in ("DIBAO", "TEKUN", "LINSHI")
        assert row[3] in ("active", "suspended", "terminated")


# ---------------------------------------------------------------- identity


def test_every_id_is_valid_after_normalisation(generated: tuple[Path, dict]) -> None:
    for day in DATES:
        for name, raw in id_values(generated[0], day):
            assert is_valid(normalise(raw)), (day, name, raw)


def test_keys_are_unique(generated: tuple[Path, dict]) -> None:
    keys = {
        "households.csv": (0,),
        "persons.csv": (0, 1),
        "enrollments.csv": (0,),
        "medical_claims.csv": (0, 1),
        "deaths.csv": (0,),
        "properties.csv": (0, 1),
        "balances": (0, 1),
    }
    for day in DATES:
        for source in SOURCE_FILES:
            for name in file_names(source, day):
                rows = records(generated[0] / source / day.isoformat() / name)
                key = keys.get(name, keys["balances"])
                column = ID_COLUMNS.get(name, 2 if source == "bank" else None)
                seen = Counter(
                    tuple(normalise(r[i]) if i == column else r[i] for i in key) for r in rows
                )
                assert max(seen.values(), default=1) == 1, (name, seen.most_common(2))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("dirty")
    generate(landing, 400, START, 1, seed=3, dirty_ratio=0.2)
    return landing


def test_dirty_spellings_normalise_and_stay_with_the_person(dirty: Path) -> None:
    styles: Counter[str] = Counter()
    spellings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, raw in id_values(dirty, START):
        normalised = normalise(raw)
        assert is_valid(normalised), raw
        spellings[(name, normalised)].add(raw)
        styles[_style(raw)] += 1
    assert set(styles) == {
        "canonical",
        "legacy15",
        "full_width",
        "lower_x",
        "padded",
        "ideographic",
    }, styles
    # one spelling per person and file (identity resolution, not noise), except the
    # scripted A05 person, spelled 15-digit in one of its two households on purpose
    (c24,) = [c for c in scripted_cases(START, 1, seed=3).cases if c.code == "C24"]
    twice = [key for key, raws in spellings.items() if len(raws) > 1]
    assert [name for name, _ in twice] == ["persons.csv"]
    persons = records(dirty / "civil_affairs" / START.isoformat() / "persons.csv")
    homes = {r[0] for r in persons if normalise(r[1]) == twice[0][1]}
    assert homes == set(c24.household_ids)
    by_person: dict[str, set[str]] = defaultdict(set)
    for (_, normalised), raws in spellings.items():
        by_person[normalised] |= raws
    assert any(len(raws) > 1 for raws in by_person.values()), "no person spelled two ways"


def _style(raw: str) -> str:
    if raw.startswith("\u3000"):
        return "ideographic"
    if raw != raw.strip():
        return "padded"
    if any("\uff10" <= c <= "\uff5e" for c in raw):
        return "full_width"
    if len(raw) == 15:
        return "legacy15"
    return "lower_x" if raw.endswith("x") else "canonical"


def test_zero_dirty_ratio_gives_canonical_ids(tmp_path: Path) -> None:
    generate(tmp_path, 120, START, 1, dirty_ratio=0)
    for _, raw in id_values(tmp_path, START):
        assert raw == normalise(raw) and is_valid(raw)


def test_default_dirty_share_is_at_most_about_0_3_percent(tmp_path: Path) -> None:
    summary = generate(tmp_path, 3000, START, 1)
    dirty_rows: Counter[str] = Counter()
    for name, raw in id_values(tmp_path, START):
        dirty_rows[name] += raw != normalise(raw)
    assert sum(dirty_rows.values()) > 0
    for name, count in dirty_rows.items():
        rows = summary["days"][START.isoformat()][name]
        assert count <= 0.003 * rows + 1, (name, count, rows)  # + one scripted spelling


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(generated: tuple[Path, dict], tmp_path: Path) -> None:
    generate(tmp_path, HOUSEHOLDS, START, DAYS, seed=7)
    assert all_bytes(tmp_path) == all_bytes(generated[0])


def test_bytes_do_not_depend_on_workers_but_on_seed(tmp_path: Path) -> None:
    outputs = {}
    for label, seed, workers in (("one", 5, 1), ("two", 5, 2), ("other", 6, 2)):
        landing = tmp_path / label
        generate(landing, 260, START, 2, seed=seed, workers=workers, chunk_households=40)
        outputs[label] = all_bytes(landing)  # 40 households a chunk: several chunks
    assert outputs["one"] == outputs["two"]
    assert outputs["one"] != outputs["other"]


def test_first_days_are_the_same_whatever_the_number_of_days(tmp_path: Path) -> None:
    generate(tmp_path / "short", 150, START, 1)
    generate(tmp_path / "long", 150, START, 2)
    short, long = all_bytes(tmp_path / "short"), all_bytes(tmp_path / "long")
    assert short == {k: v for k, v in long.items() if START.isoformat() in k}


# ---------------------------------------------------------------- content over days


def test_first_extract_carries_365_days_of_claims(generated: tuple[Path, dict]) -> None:
    rows = records(generated[0] / "health" / START.isoformat() / "medical_claims.csv")
    settled = [date.fromisoformat(r[5]) for r in rows]
    assert max(settled) == START and min(settled) <= START - timedelta(days=300)
    assert min(settled) >= START - timedelta(days=365)
    for r in rows:
        assert r[1] == "1"
        total, fund, oop = (int(x.replace(".", "")) for x in r[7:10])
        assert total == fund + oop and re.fullmatch(r"[0-9]+\.[0-9]{2}", r[9])


def test_snapshots_and_increments_change_between_days(generated: tuple[Path, dict]) -> None:
    landing = generated[0]
    d0, d1 = START.isoformat(), DATES[1].isoformat()

    def body(source: str, name: str, day: str) -> set[tuple[str, ...]]:
        return {tuple(r) for r in records(landing / source / day / name)}

    assert body("civil_affairs", "households.csv", d0) != body(
        "civil_affairs", "households.csv", d1
    )
    assert body("housing", "properties.csv", d0) != body("housing", "properties.csv", d1)
    bank0 = {r[1]: r[4] for r in records(landing / "bank" / d0 / f"balances_{START:%Y%m%d}.txt")}
    bank1 = {r[1]: r[4] for r in records(landing / "bank" / d1 / f"balances_{DATES[1]:%Y%m%d}.txt")}
    assert bank0.keys() == bank1.keys() and bank0 != bank1
    first = {r[0]: r for r in records(landing / "health" / d0 / "medical_claims.csv")}
    later = records(landing / "health" / d1 / "medical_claims.csv")
    corrections = [r for r in later if r[0] in first]
    assert corrections and all(int(r[1]) > 1 and r[5] == first[r[0]][5] for r in corrections)
    deaths = [
        r for day in DATES for r in records(landing / "health" / day.isoformat() / "deaths.csv")
    ]
    assert len(deaths) >= DAYS
    assert any(
        date.fromisoformat(r[2]) - date.fromisoformat(r[1]) > timedelta(days=7) for r in deaths
    ), "no late-registered death"


def test_properties_cover_co_ownership_types_and_cancellation(generated: tuple[Path, dict]) -> None:
    landing = generated[0]
    rows = records(landing / "housing" / START.isoformat() / "properties.csv")
    persons = records(landing / "civil_affairs" / START.isoformat() / "persons.csv")
    homes: dict[str, set[str]] = defaultdict(set)
    for hid, pid, *_ in persons:
        homes[normalise(pid)].add(hid)
    owners: dict[str, set[str]] = defaultdict(set)
    for cert, owner, *_ in rows:
        owners[cert].add(normalise(owner))
    assert any(len(o) > 1 for o in owners.values())
    across = [
        c for c, o in owners.items() if len(set().union(*(homes[x] for x in o))) > 1 and len(o) > 1
    ]
    assert across, "no property co-owned across households"
    assert {r[2] for r in rows} == {"住宅", "商业", "车位", "其他"}
    assert any(r[6] for r in rows)
    assert any(len(h) > 1 for h in homes.values()), "nobody in two households"


# ---------------------------------------------------------------- boundary cases vs the rules


def _check_cases(landing: Path, days: int, standards: Path) -> int:
    dates = DATES[:days]
    result = rules.compute(landing, dates, "k", standards_csv=standards)
    assert result.rejected == []
    held: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for alert_date, rule, hid, person, _ in result.alerts:
        held[(alert_date, hid)].add((rule, person))
    script = scripted_cases(START, days, standards_csv=standards)
    checked = 0
    for case in script.cases:
        for hid in case.household_ids:
            for index, day in enumerate(dates):
                expected = case.expected(hid, index)
                if expected is None:
                    continue
                category, alerts = expected
                want = {(rule, rules.person_key(p, "k") if p else "") for rule, p in alerts}
                figures = result.households[(day, hid)]
                assert figures["category"] == category, (case.code, case.title, day, figures)
                assert held[(day.isoformat(), hid)] == want, (case.code, case.title, day)
                checked += 1
    return checked


def test_scripted_boundaries_give_the_expected_rules(generated: tuple[Path, dict]) -> None:
    script = scripted_cases(START, DAYS)
    codes = {c.code for c in script.cases}
    assert {f"C{i:02d}" for i in range(1, 46)} <= codes
    assert _check_cases(generated[0], DAYS, DEFAULT_STANDARDS_CSV) >= 49 * DAYS


def test_standard_effective_on_d_is_placed(tmp_path: Path) -> None:
    standards = tmp_path / "dibao_standards.csv"
    text = DEFAULT_STANDARDS_CSV.read_text(encoding="utf-8")
    extra = f"210200,大连市,城镇,{DATES[1].isoformat()},800,1600,test\n"
    standards.write_text(text + ("" if text.endswith("\n") else "\n") + extra, encoding="utf-8")
    script = scripted_cases(START, 2, standards_csv=standards)
    (case,) = [c for c in script.cases if "changes to 800.00" in c.title]
    assert case.expected(case.household_ids[0], 0) == ("MARGINAL", frozenset())
    landing = tmp_path / "landing"
    generate(landing, HOUSEHOLDS, START, 2, standards_csv=standards)
    assert _check_cases(landing, 2, standards) > 0


# ---------------------------------------------------------------- damage helpers


def test_truncate_file_leaves_manifest_stale(landing: Path) -> None:
    folder = landing / "housing" / START.isoformat()
    before = manifest(folder)
    size = (folder / "properties.csv").stat().st_size
    kept = damage.truncate_file(folder / "properties.csv", 0.5)
    data = (folder / "properties.csv").read_bytes()
    assert kept == len(data) == size // 2 and data.startswith(BOM)
    assert manifest(folder) == before
    entry = before["files"][0]
    assert hashlib.sha256(data).hexdigest() != entry["sha256"]
    assert file_facts(folder / "properties.csv", has_header=True).rows < entry["rows"]


def test_flip_byte_changes_only_the_checksum(landing: Path) -> None:
    folder = landing / "civil_affairs" / START.isoformat()
    path = folder / "persons.csv"
    original = path.read_bytes()
    offset = damage.flip_byte(path)
    data = path.read_bytes()
    assert sum(a != b for a, b in zip(original, data, strict=True)) == 1
    assert data[offset] != original[offset]
    data.decode("gb18030")
    entry = manifest(folder)["files"][1]
    assert hashlib.sha256(data).hexdigest() != entry["sha256"]
    assert len(records(path)) == entry["rows"]


@pytest.mark.parametrize(
    ("source", "name", "column"),
    [
        ("civil_affairs", "persons.csv", "name"),
        ("housing", "properties.csv", "floor_area"),
        ("health", "deaths.csv", "registered_date"),
        ("bank", "balances_{}.txt", "account_type"),
    ],
)
def test_drop_column_keeps_conventions_and_manifest(
    landing: Path, source: str, name: str, column: str
) -> None:
    name = name.format(f"{START:%Y%m%d}")
    folder = landing / source / START.isoformat()
    rows_before = len(records(folder / name))
    damage.drop_column(landing, source, START, name, column)
    data = (folder / name).read_bytes()
    _assert_conventions(source, data)
    assert_manifest_matches(folder)
    spec = formats.file_format(source, name)
    width = len(spec.columns) - 1
    assert all(len(r) == width for r in records(folder / name))
    assert len(records(folder / name)) == rows_before
    if spec.header:
        header = data.removeprefix(BOM).decode(spec.encoding).splitlines()[0].split(",")
        assert column not in header and len(header) == width


def _assert_conventions(source: str, data: bytes) -> None:
    assert data.startswith(BOM) is (source == "housing")
    if source == "civil_affairs":
        assert data.count(b"\n") == data.count(b"\r\n")
        data.decode("gb18030")
    else:
        assert b"\r" not in data
        data.decode("utf-8")


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("civil_affairs", "persons.csv"),
        ("civil_affairs", "households.csv"),
        ("housing", "properties.csv"),
        ("bank", "balances_{}.txt"),
        ("health", "medical_claims.csv"),
    ],
)
def test_invalidate_ids(landing: Path, source: str, name: str) -> None:
    name = name.format(f"{START:%Y%m%d}")
    folder = landing / source / START.isoformat()
    before = records(folder / name)
    damaged = damage.invalidate_ids(landing, source, START, name, 0.1, seed=1)
    after = records(folder / name)
    column = ID_COLUMNS.get(name, 2)
    invalid = [a for a in after if not is_valid(normalise(a[column]))]
    assert damaged == len(invalid) == max(1, round(0.1 * len(before)))
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == damaged
    assert all(normalise(b[column])[:17] == a[column][:17] for b, a in changed)
    _assert_conventions(source, (folder / name).read_bytes())
    assert_manifest_matches(folder)


def test_invalidate_ids_is_seeded(landing: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(landing, other)
    for root in (landing, other):
        damage.invalidate_ids(root, "civil_affairs", START, "persons.csv", 0.05, seed=9)
    path = Path("civil_affairs") / START.isoformat() / "persons.csv"
    assert (landing / path).read_bytes() == (other / path).read_bytes()


def test_remove_source(landing: Path) -> None:
    damage.remove_source(landing, "bank", START)
    assert not (landing / "bank" / START.isoformat()).exists()
    assert (landing / "bank" / DATES[1].isoformat() / "_manifest.json").exists()
    assert (landing / "health" / START.isoformat() / "_manifest.json").exists()


def test_rewrite_manifest_after_an_edit(landing: Path) -> None:
    folder = landing / "health" / START.isoformat()
    path = folder / "deaths.csv"
    path.write_bytes(path.read_bytes() + b"110105194912310021,2026-09-30,2026-10-01\n")
    document = damage.rewrite_manifest(folder)
    assert document == manifest(folder)
    assert_manifest_matches(folder)
    (folder / "_manifest.json").unlink()
    assert [f["name"] for f in damage.rewrite_manifest(folder)["files"]] == [
        "medical_claims.csv",
        "deaths.csv",
    ]


# ---------------------------------------------------------------- CLI


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--out",
        str(tmp_path),
        "--households",
        "100",
        "--start",
        "2026-10-01",
        "--days",
        "1",
        "--seed",
        "4",
        "--dirty-ratio",
        "0",
    ]
    assert cli.main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["days"]["2026-10-01"]["households.csv"] == 100
    assert (tmp_path / "bank" / "2026-10-01" / "balances_20261001.txt").exists()
    assert cli.main([*args, "--list-cases"]) == 0
    listing = capsys.readouterr().out
    assert "C01" in listing and "C45" in listing


@pytest.mark.parametrize("module", ["safetynet_dev.synth", "safetynet_dev.synth.generator"])
def test_module_entry_points(module: str) -> None:
    """``python -m safetynet_dev.synth`` and the older name ``make data`` uses."""
    args = ["--out", "/nonexistent", "--start", "2026-10-01", "--list-cases"]
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("C01  ") and "C45  " in done.stdout


def test_too_few_households_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate(tmp_path, 10, START, 1)
