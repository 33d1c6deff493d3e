"""The generator at 2M households (issue 23): the plan, and unique, valid identifiers
beyond the 700,000 households it took before, tested on samples of serials."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from safetynet import identity
from safetynet_dev.synth import ids, vocabulary
from safetynet_dev.synth.cases import scripted_cases, scripted_household_count
from safetynet_dev.synth.formats import BALANCES, FORMATS, HOUSEHOLDS, PERSONS, PROPERTIES
from safetynet_dev.synth.generator import generate
from safetynet_dev.synth.population.day import run_chunk
from safetynet_dev.synth.population.households import Households
from safetynet_dev.synth.population.plan import (
    MAX_RANDOM_HOUSEHOLDS,
    Plan,
    id_pages,
    make_plan,
    random_household_limit,
)
from safetynet_dev.synth.reference import (
    DEFAULT_REGIONS_CSV,
    DEFAULT_STANDARDS_CSV,
    Standards,
    load_regions,
)

pytestmark = pytest.mark.unit

START = date(2026, 10, 1)
TWO_MILLION = 2_000_000
OLD_LIMIT = 700_000


def plan_of(n_random: int) -> Plan:
    standards = Standards.load(DEFAULT_STANDARDS_CSV)
    cities = {s.city for s in standards.rows}
    regions = [r for r in load_regions(DEFAULT_REGIONS_CSV) if r.city in cities]
    return make_plan(n_random, START, 7, 0.003, regions, standards)


@pytest.fixture(scope="module")
def big() -> Plan:
    return plan_of(TWO_MILLION)


def test_the_plan_takes_two_million_households(big: Plan) -> None:
    assert len(big.regions) == 32 and big.n_random == TWO_MILLION
    assert big.id_pages == 3 and plan_of(OLD_LIMIT).id_pages == 1
    assert random_household_limit(32) == MAX_RANDOM_HOUSEHOLDS >= 2_500_000
    with pytest.raises(ValueError, match="at most 2500000 households"):
        plan_of(MAX_RANDOM_HOUSEHOLDS + 1)


def test_generate_refuses_beyond_the_limit_before_writing(tmp_path: Path) -> None:
    script = scripted_cases(START, 1, 7, 0.003, DEFAULT_REGIONS_CSV, DEFAULT_STANDARDS_CSV)
    too_many = MAX_RANDOM_HOUSEHOLDS + scripted_household_count(script) + 1
    with pytest.raises(ValueError, match="at most"):
        generate(tmp_path, too_many, START, 1)
    assert not any(tmp_path.iterdir())


def test_sizes_that_fitted_before_have_one_page() -> None:
    """One page: ids exactly as before issue 23 (ids.birth_slot of the old spread)."""
    capacity_households = ids.ID_CAPACITY // 8 * 32
    assert id_pages(capacity_households, 32) == 1 and id_pages(capacity_households + 1, 32) == 2
    for ordinal in random.Random(1).sample(range(ids.ID_CAPACITY), 2000):
        spread = (ids.ID_MULT * ordinal + 11) % ids.ID_CAPACITY
        assert ids.birth_slot(ordinal, 11) == (0, *divmod(spread, ids.RANDOM_SLOTS))
    assert all(ids.page_year(y, 0, 1) == y for y in range(1900, 2030))


def _ordinal_sample(pages: int) -> list[int]:
    """Every ordinal around the page boundaries, and random ones from every page."""
    around = [
        o
        for k in range(pages + 1)
        for o in range(k * ids.ID_CAPACITY - 3000, k * ids.ID_CAPACITY + 3000)
        if 0 <= o < pages * ids.ID_CAPACITY
    ]
    return around + random.Random(2).sample(range(pages * ids.ID_CAPACITY), 30_000)


def test_ids_stay_unique_and_valid_across_pages(big: Plan) -> None:
    """Same region, every age (the worst case): two ordinals never share an id."""
    households = Households(big, 0)
    region = 5
    owner: dict[str, int] = {}
    for ordinal in _ordinal_sample(big.id_pages):
        page, day_of_year, slot = ids.birth_slot(ordinal, households.id_add)
        for age in (0, 30, 31, 32, 33, 89, 130):
            asked = max(1900, START.year - 1 - age)
            year = ids.page_year(asked, page, big.id_pages)
            assert year % big.id_pages == page and year <= START.year - 1
            assert asked - big.id_pages < year <= asked or asked < 1900 + big.id_pages
            prefix = big.regions[region].code + str(year)
            prefix_sum = big.region_sums[region] + ids.YEAR_SUM[year]
            id18 = ids.issue_id(prefix, prefix_sum, day_of_year, 2 * slot + age % 2)
            assert identity.is_valid_id(id18), id18
            assert owner.setdefault(id18, ordinal) == ordinal, (id18, ordinal)


def test_account_and_certificate_serials_beyond_the_old_limit(big: Plan) -> None:
    add_a, add_c = big.salt("accounts") % 10**8, big.salt("certs") % 10**7
    rng = random.Random(3)
    indexes = [
        *range(OLD_LIMIT - 2000, OLD_LIMIT + 2000),
        *range(MAX_RANDOM_HOUSEHOLDS - 2000, MAX_RANDOM_HOUSEHOLDS),
        *rng.sample(range(TWO_MILLION), 20_000),
    ]
    accounts: set[str] = set()
    certs: set[str] = set()
    for index in indexes:
        for member in range(vocabulary.MEMBERS):
            for j in range(vocabulary.ACCOUNTS_EACH):
                serial = vocabulary.account_serial(index, member, j)
                assert serial < vocabulary.SCRIPTED_ACCOUNT_SERIAL
                accounts.add(vocabulary.masked_account(serial, add_a))
        for j in range(vocabulary.PROPERTIES_EACH):
            certs.add(vocabulary.property_cert("110101", index, j, add_c))
    per_household = vocabulary.MEMBERS * vocabulary.ACCOUNTS_EACH
    assert len(accounts) == len(set(indexes)) * per_household
    assert len(certs) == len(set(indexes)) * vocabulary.PROPERTIES_EACH
    # scripted (90,000,000 on) and day-event (6,000,000 on, 7 digits) serials stay apart
    scripted = {vocabulary.masked_account(90_000_000 + k, add_a) for k in range(500)}
    events = {vocabulary.cert_no("110101", 6_000_000 + k, add_c) for k in range(5000)}
    assert not scripted & accounts and not events & certs


def test_chunks_of_two_million_households_are_valid_and_unique(big: Plan) -> None:
    """Real rows of four chunks (households on both sides of the old limit, 700,000)."""
    households: Counter[str] = Counter()
    people: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    properties: Counter[tuple[str, str]] = Counter()
    accounts: Counter[tuple[str, str]] = Counter()
    chunks = (0, OLD_LIMIT // big.chunk_households - 1, OLD_LIMIT // big.chunk_households)
    for chunk in (*chunks, big.chunks - 1):
        output = run_chunk((big, chunk, 0, {}))
        text = [data.decode(spec.encoding) for data, spec in zip(output.data, FORMATS, strict=True)]
        households.update(line.split(",")[0] for line in text[HOUSEHOLDS].splitlines())
        for line in text[PERSONS].splitlines():
            hid, pid, name, gender, birth, relation, _ = line.split(",")
            people[identity.normalise_id(pid)].add((name, gender, birth, relation, hid))
        for line in text[PROPERTIES].splitlines():
            cert, owner = line.split(",")[:2]
            properties[cert, identity.normalise_id(owner)] += 1
        accounts.update(tuple(line.split("|")[:2]) for line in text[BALANCES].splitlines())
    assert len(households) == 4 * big.chunk_households
    assert max(households.values()) == max(properties.values()) == max(accounts.values()) == 1
    assert all(identity.is_valid_id(p) for p in people)
    for pid, rows in people.items():  # twice only if borrowed into the next household
        assert len(rows) == 1 or (len(rows) == 2 and "其他" in {r[3] for r in rows}), pid
        assert len({r[:3] for r in rows}) == 1, pid
    wide = Counter(len(cert) for cert, _ in properties)
    assert wide[15] > 1000 and wide[16] > 1000  # 8-digit certificates beyond 700,000
    assert len({int(p[6:10]) % big.id_pages for p in people}) == big.id_pages
