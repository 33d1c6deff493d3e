"""The scripted boundary cases C01-C45 (and C46+: standards changing in the window).

Each sits exactly on a boundary of the rules of contract section 5 and
carries the category and alerts the rules must give (``outcomes``). The
cases are built in a fixed order from a seeded stream: the same (start,
days, seed, dirty ratio, reference data) always give the same households.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from safetynet_dev.synth.cases.script import CasePerson, Combo, Script
from safetynet_dev.synth.formats import RURAL, URBAN, money
from safetynet_dev.synth.ids import CANONICAL, FULL_WIDTH, IDEOGRAPHIC, LEGACY15, PADDED
from safetynet_dev.synth.reference import (
    DEFAULT_REGIONS_CSV,
    DEFAULT_STANDARDS_CSV,
    Region,
    Standards,
    fen,
    load_regions,
)

DEFAULT_DIRTY_RATIO = 0.003


def _alert(rule: str, person: CasePerson | None = None) -> tuple[str, str]:
    return (rule, person.id18 if person else "")


def _income_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C01", "PCI == S exactly (size 3, income 3S): A03, MARGINAL")
    h = sc.house(c, combo(), 3, 3 * combo().s)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C02", "PCI = S + 1/3 fen (income 3S + 0.01): MARGINAL, no A03")
    h = sc.house(c, combo(), 3, 3 * combo().s + 1)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C03", "PCI == 1.5 S exactly (size 2, income 3S): MARGINAL")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C04", "PCI = 1.5 S + 0.005 (income 3S + 0.01): no category")
    h = sc.house(c, combo(), 2, 3 * combo().s + 1)
    sc.expect(c, h, None)
    c = sc.case("C05", "APCI == S exactly (income 2S+200, OOP_365 2400.00): A04, MARGINAL")
    h = sc.house(c, combo(), 2, 2 * combo().s + 20000)
    sc.claim(h.members[0], -200, 100000)
    sc.claim(h.members[1], -100, 140000, style=IDEOGRAPHIC)
    sc.expect(c, h, "MARGINAL", [_alert("A04")])
    c = sc.case("C06", "APCI = S + 0.01 (OOP_365 2399.76): MARGINAL, no A04")
    h = sc.house(c, combo(), 2, 2 * combo().s + 20000)
    sc.claim(h.members[0], -200, 100000)
    sc.claim(h.members[1], -100, 139976)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C07", "APCI == 1.5 S exactly, PCI = 1.5 S + 50 (OOP_365 1200.00): RIGID_EXPENSE")
    h = sc.house(c, combo(), 2, 3 * combo().s + 10000)
    sc.claim(h.members[0], -150, 120000)
    sc.expect(c, h, "RIGID_EXPENSE")
    c = sc.case("C08", "APCI = 1.5 S + 0.01 (OOP_365 1199.76): no category")
    h = sc.house(c, combo(), 2, 3 * combo().s + 10000)
    sc.claim(h.members[0], -150, 119976)
    sc.expect(c, h, None)


def _asset_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C09", "FA / size == 24 S exactly (FA = 48 S, one id full-width): A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    total = 48 * h.s
    sc.account(h.members[0], total // 3, "D")
    sc.account(h.members[1], total - total // 3, "T", style=FULL_WIDTH)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C10", "FA / size = 24 S + 0.005 (FA = 48 S + 1 fen): asset test fails")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.account(h.members[0], total // 3, "D")
    sc.account(h.members[1], total - total // 3 + 1, "W")
    sc.expect(c, h, None)
    c = sc.case("C11", "RP == 1: co-owned 住宅 + 商业 + 车位 + 其他 + cancelled 住宅: A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    a, b = h.members
    sc.prop([(a, CANONICAL), (b, PADDED)], region=h.combo.region)
    sc.prop([(a, CANONICAL)], "商业", region=h.combo.region)
    sc.prop([(b, PADDED)], "车位", region=h.combo.region)
    sc.prop([(a, CANONICAL)], "其他", region=h.combo.region)
    sc.prop([(a, CANONICAL)], registered=-3000, cancelled=-400, region=h.combo.region)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C12", "RP == 2 (two distinct 住宅): asset test fails")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.prop([(h.members[0], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[1], CANONICAL)], region=h.combo.region)
    sc.expect(c, h, None)
    c = sc.case("C13", "住宅 co-owned across two households; first also owns another: RP 2 / 1")
    first = sc.house(c, combo(), 2, 2 * combo().s)
    second = sc.house(c, combo(), 2, 2 * combo().s)
    sc.prop(
        [(first.members[0], CANONICAL), (second.members[0], CANONICAL)], region=first.combo.region
    )
    sc.prop([(first.members[1], CANONICAL)], region=first.combo.region)
    sc.expect(c, first, None)
    sc.expect(c, second, "MARGINAL", [_alert("A03")])
    c = sc.case("C14", "DIBAO with FA == 24 S x size exactly: no A02")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.account(h.members[0], 48 * h.s, "T")
    sc.expect(c, h, "DIBAO")
    c = sc.case("C15", "DIBAO with FA = 24 S x size + 0.01: A02")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.account(h.members[0], 48 * h.s + 1, "T")
    sc.expect(c, h, "DIBAO", [_alert("A02")])
    c = sc.case("C16", "TEKUN with RP == 2: A02")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "TEKUN")
    sc.prop([(h.members[0], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[0], CANONICAL)], registered=-100, region=h.combo.region)
    sc.expect(c, h, "TEKUN", [_alert("A02")])


def _enrolment_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C17", "DIBAO end_date == D0 (active on D0); from D0+1 not enrolled: A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "DIBAO", begin=-400, end=0)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)
    c = sc.case("C18", "DIBAO start_date == D0 (+ an older terminated row): DIBAO")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "DIBAO", "terminated", begin=-900, end=-1)
    sc.enrol(h, "DIBAO", begin=0)
    sc.expect(c, h, "DIBAO")
    c = sc.case("C19", "DIBAO start_date == D0+1: A03 on D0, DIBAO from D0+1")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "DIBAO", begin=1)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], last=0)
    sc.expect(c, h, "DIBAO", first=1)
    for code, status, title in (
        ("C20", "suspended", "suspended DIBAO is not enrolled: A03"),
        ("C21", "terminated", "terminated DIBAO, no end_date: A03"),
    ):
        c = sc.case(code, title)
        h = sc.house(c, combo(), 2, 2 * combo().s)
        sc.enrol(h, "DIBAO", status, begin=-300)
        sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C22", "LINSHI only is not enrolled: A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "LINSHI", begin=-20)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C23", "active TEKUN and DIBAO: category TEKUN")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "DIBAO", begin=-700)
    sc.enrol(h, "TEKUN", begin=-200)
    sc.expect(c, h, "TEKUN")


def _people_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C24", "person in a DIBAO and a TEKUN household (legacy 15-digit id in one): A05")
    cb = combo()
    p = sc.person(cb.region, 1965, True)
    first = sc.house(c, cb, 1, cb.s, members=[p])
    second = sc.house(c, combo(), 0, 0, members=[p], spellings={0: LEGACY15})
    sc.enrol(first, "DIBAO")
    sc.enrol(second, "TEKUN")
    sc.expect(c, first, "DIBAO", [_alert("A05", p)])
    sc.expect(c, second, "TEKUN", [_alert("A05", p)])
    c = sc.case("C25", "person in a DIBAO and a LINSHI-only household: no A05")
    cb = combo()
    q = sc.person(cb.region, 1970, False)
    first = sc.house(c, cb, 1, cb.s, members=[q])
    second = sc.house(c, combo(), 1, 4 * combo().s, members=[q])
    sc.enrol(first, "DIBAO")
    sc.enrol(second, "LINSHI", begin=-20)
    sc.expect(c, first, "DIBAO")
    sc.expect(c, second, None)
    c = sc.case("C26", "dead person in a DIBAO and a TEKUN household: A01 for both, no A05")
    cb = combo()
    r = sc.person(cb.region, 1940, True)
    first = sc.house(c, cb, 1, cb.s, members=[r])
    second = sc.house(c, combo(), 1, 0, members=[r])
    sc.enrol(first, "DIBAO")
    sc.enrol(second, "TEKUN")
    sc.death(r, -3, 0)
    sc.expect(c, first, "DIBAO", [_alert("A01", r)])
    sc.expect(c, second, "TEKUN", [_alert("A01", r)])
    c = sc.case("C27", "deceased member of a DIBAO household (died and registered D0): A01")
    h = sc.house(c, combo(), 3, combo().s)
    sc.enrol(h, "DIBAO")
    sc.death(h.members[2], 0, 0)
    sc.expect(c, h, "DIBAO", [_alert("A01", h.members[2])])
    c = sc.case("C28", "TEKUN household whose members are all dead (size 0, rich): only A01")
    h = sc.house(c, combo(), 2, 0)
    sc.enrol(h, "TEKUN")
    sc.account(h.members[0], 100 * h.s * 100, "W")
    sc.death(h.members[0], -1, 0)
    sc.death(h.members[1], 0, 0)
    sc.expect(c, h, None, [_alert("A01", h.members[0]), _alert("A01", h.members[1])])
    c = sc.case("C29", "DIBAO member died D0-20, registered late on D0+1: A01 from D0+1")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.death(h.members[1], -20, 1)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "DIBAO", [_alert("A01", h.members[1])], first=1)
    c = sc.case("C30", "owner of one of two 住宅 dies on D0+1: RP 2 -> 1, size 3 -> 2: A03")
    h = sc.house(c, combo(), 3, 2 * combo().s)
    sc.prop([(h.members[2], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[1], CANONICAL)], region=h.combo.region)
    sc.death(h.members[2], 1, 1)
    sc.expect(c, h, None, last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)


def _claim_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C31", "DIBAO with OOP_30 == 6 S exactly (settled D0-10): A06")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.claim(h.members[0], -10, 6 * h.s)
    sc.expect(c, h, "DIBAO", [_alert("A06")], last=19)
    sc.expect(c, h, "DIBAO", first=20)
    c = sc.case("C32", "TEKUN with OOP_30 = 6 S - 0.01: no A06")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "TEKUN")
    sc.claim(h.members[0], -10, 6 * h.s - 1)
    sc.expect(c, h, "TEKUN")
    c = sc.case("C33", "RIGID_EXPENSE (APCI == 1.5 S) with OOP_30 == 6 S: no A06")
    h = sc.house(c, combo(), 1, 2 * combo().s)
    sc.claim(h.members[0], -5, 6 * h.s)
    sc.expect(c, h, "RIGID_EXPENSE")
    c = sc.case("C34", "claim 6 S settled D0-29: A06 on D0; on D0+1 it is D-30, outside")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], -29, 6 * h.s)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], last=0)
    sc.expect(c, h, "MARGINAL", first=1)
    c = sc.case("C35", "claim 6 S settled exactly D0-30: outside (D-30, D], no A06")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], -30, 6 * h.s)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C36", "claim settled D0-364 gives APCI == S on D0 (A04); D-365 on D0+1")
    h = sc.house(c, combo(), 1, combo().s + 10000)
    sc.claim(h.members[0], -364, 120000)
    sc.expect(c, h, "MARGINAL", [_alert("A04")], last=0)
    sc.expect(c, h, "MARGINAL", first=1)
    c = sc.case("C37", "claim settled exactly D0-365 (sent with the history): outside, no A04")
    h = sc.house(c, combo(), 1, combo().s + 10000)
    sc.claim(h.members[0], -365, 120000)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C38", "claim 6 S settled on D0 itself: A06")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], 0, 6 * h.s)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], last=29)
    sc.expect(c, h, "MARGINAL", first=30)
    c = sc.case("C39", "claim 6 S settled on D0+1, sent on D0+1: A06 from D0+1")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], 1, 6 * h.s, day=1)
    sc.expect(c, h, "MARGINAL", last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], first=1, last=30)
    sc.expect(c, h, "MARGINAL", first=31)
    c = sc.case("C40", "correction on D0+1 raises OOP to 6 S exactly (v2, same settlement)")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    claim = sc.claim(h.members[0], -10, 6 * h.s - 10000)
    sc.claim(h.members[0], -10, 6 * h.s, day=1, version=2, claim_id=claim)
    sc.expect(c, h, "MARGINAL", last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], first=1, last=19)
    sc.expect(c, h, "MARGINAL", first=20)
    c = sc.case("C41", "correction on D0+1 lowers OOP from 6 S to 6 S - 0.01: A06 ends")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    claim = sc.claim(h.members[0], -10, 6 * h.s)
    sc.claim(h.members[0], -10, 6 * h.s - 1, day=1, version=2, claim_id=claim)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], last=0)
    sc.expect(c, h, "MARGINAL", first=1)


def _change_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C42", "income re-assessed on D0+1 from PCI 1.5 S + 250 to PCI == S: A03")
    h = sc.house(c, combo(), 2, 3 * combo().s + 50000)
    sc.income(h, 2 * h.s, first=1, assessed=1)
    sc.expect(c, h, None, last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)
    c = sc.case("C43", "DIBAO balance 48 S, +1 fen on D0+1, back on D0+2: A02 on D0+1 only")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    account = sc.account(h.members[0], 48 * h.s, "D", last=0)
    sc.account(h.members[0], 48 * h.s + 1, "D", first=1, last=1, account=account)
    sc.account(h.members[0], 48 * h.s, "D", first=2, account=account)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "DIBAO", [_alert("A02")], first=1, last=1)
    sc.expect(c, h, "DIBAO", first=2)
    c = sc.case("C44", "second 住宅 cancelled with cancelled_date == D0+1: RP 2 -> 1, A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    region = h.combo.region
    sc.prop([(h.members[0], CANONICAL)], region=region)
    cert = sc.prop([(h.members[1], CANONICAL)], registered=-500, last=0, region=region)
    sc.prop(
        [(h.members[1], CANONICAL)], registered=-500, cancelled=1, first=1, cert=cert, region=region
    )
    sc.expect(c, h, None, last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)
    c = sc.case("C45", "DIBAO gains a second 住宅 registered D0+1: A02 from D0+1")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "DIBAO")
    sc.prop([(h.members[0], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[0], CANONICAL)], registered=1, first=1, region=h.combo.region)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "DIBAO", [_alert("A02")], first=1)


def _standard_cases(sc: Script, changing: list[tuple[Combo, int, int, int, int | None]]) -> None:
    """A new standard effective on D_k (k >= 0): PCI == new S from that day."""
    for number, (combo, k, old, new, until) in enumerate(changing):
        c = sc.case(
            f"C{46 + number}",
            f"standard of {combo.region[:4]}00 {combo.urban_rural} "
            f"changes to {money(new)} on D0+{k}: PCI == new S",
        )
        h = sc.house(c, combo, 1, new)
        before: tuple[str | None, list] = (None, [])
        if old and new <= old:
            before = ("MARGINAL", [_alert("A03")])
        elif old and 2 * new <= 3 * old:
            before = ("MARGINAL", [])
        if k > 0:
            sc.expect(c, h, before[0], before[1], last=k - 1)
        sc.expect(c, h, "MARGINAL", [_alert("A03")], first=k, last=until)


def _combos(
    regions: Sequence[Region],
    standards: Standards,
    start: date,
    last: date,
) -> tuple[list[Combo], list[tuple[Combo, int, int, int, int | None]]]:
    """Stable (city, urban_rural) combos for the cases, and those whose standard changes."""
    stable, changing, seen = [], [], set()
    for region in regions:
        for ur in (URBAN, RURAL):
            if (region.city, ur) in seen:
                continue
            seen.add((region.city, ur))
            standard = standards.dibao(region.city, ur, start)
            changes = standards.changes(region.city, ur, start, last)
            if changes:
                k = (changes[0] - start).days
                until = (changes[1] - start).days - 1 if len(changes) > 1 else None
                old = standards.dibao(region.city, ur, changes[0] - timedelta(days=1))
                new = standards.dibao(region.city, ur, changes[0])
                if new is not None:
                    changing.append(
                        (
                            Combo(region.code, ur, fen(new)),
                            k,
                            fen(old) if old is not None else 0,
                            fen(new),
                            until,
                        )
                    )
            elif standard is not None and standard >= 200:
                stable.append(Combo(region.code, ur, fen(standard)))
    if not stable:
        raise ValueError("no (city, urban_rural) with a stable DIBAO standard for the cases")
    return stable, changing


def scripted_cases(
    start: date,
    days: int,
    seed: int = 7,
    dirty_ratio: float = DEFAULT_DIRTY_RATIO,
    regions_csv: Path = DEFAULT_REGIONS_CSV,
    standards_csv: Path = DEFAULT_STANDARDS_CSV,
) -> Script:
    """The scripted boundary households (also written by ``generate``)."""
    regions = load_regions(regions_csv)
    standards = Standards.load(standards_csv)
    stable, changing = _combos(regions, standards, start, start + timedelta(days=days - 1))
    sc = Script(start, stable, dirty_ratio > 0, seed)

    def combo() -> Combo:  # the same for every call within one case
        return stable[(len(sc.cases) - 1) % len(stable)]

    for build in (
        _income_cases,
        _asset_cases,
        _enrolment_cases,
        _people_cases,
        _claim_cases,
        _change_cases,
    ):
        build(sc, combo)
    _standard_cases(sc, changing)
    return sc


def scripted_household_count(script: Script) -> int:
    return len({hid for case in script.cases for hid in case.household_ids})
