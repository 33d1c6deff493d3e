"""Identity numbers of generated people (contract section 3, rules in ``safetynet.identity``).

A person's id is ``region + birth date + sequence + check character``; the check
character is ``safetynet.identity``'s GB 11643 one. The generator issues
millions of ids, so it adds up the weighted digit sums part by part (region,
year, month/day, sequence: tables below) instead of calling ``check_char`` on
every id; ``tests/test_generator.py`` holds every issued id to the rules.

Beyond ``ID_CAPACITY`` people per region (about 715,000 households with 32
regions) the people of a region are split into ``pages`` of ``ID_CAPACITY``
ordinals (``birth_slot``); page ``k`` of ``pages`` is born in years congruent
to ``k`` (``page_year``: up to ``pages - 1`` years older), so two pages never
share a birth year and the (month/day, sequence) slots of a page are its own.
With one page (every size that fitted before, issue 23) nothing changes.

A person may be spelled in an accepted non-canonical form (``spell_id``), the
reverse of ``safetynet.identity.normalise_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from safetynet import identity
from safetynet.identity import CHECK_CHARS, WEIGHTS

CANONICAL, LEGACY15, FULL_WIDTH, LOWER_X, PADDED, IDEOGRAPHIC = range(6)
STYLE_NAMES = ("canonical", "legacy15", "full_width", "lower_x", "padded", "ideographic")
_TO_FULL = str.maketrans(identity.HALF_WIDTH, identity.FULL_WIDTH)


def spell_id(id18: str, style: int) -> str:
    """An accepted spelling of a valid 18-character id (contract section 3)."""
    if style == LEGACY15 and id18[6:8] == "19":
        return id18[:6] + id18[8:17]
    if style == FULL_WIDTH:
        return id18.translate(_TO_FULL)
    if style == LOWER_X and id18.endswith("X"):
        return id18[:17] + "x"
    if style == PADDED:
        return " " + id18 + " "
    if style == IDEOGRAPHIC:
        return "\u3000" + id18.translate(_TO_FULL) + "\u3000"
    return id18


def digit_sum(text: str, weights: Sequence[int]) -> int:
    """Weighted digit sum of a part of an id (``weights``: that part's slice of WEIGHTS)."""
    return sum(int(d) * w for d, w in zip(text, weights, strict=True))


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Birth month/day (365 of them, no 29 February), sequence digits, birth years.
MONTH_DAY: list[str] = [
    f"{m + 1:02d}{d + 1:02d}" for m, n in enumerate(_MONTH_DAYS) for d in range(n)
]
MONTH_DAY_ISO = [f"-{md[:2]}-{md[2:]}" for md in MONTH_DAY]
_MONTH_DAY_SUM = [digit_sum(md, WEIGHTS[10:14]) for md in MONTH_DAY]
_SEQ_TEXT = [f"{s:03d}" for s in range(1000)]
_SEQ_SUM = [digit_sum(text, WEIGHTS[14:17]) for text in _SEQ_TEXT]
YEAR_SUM = {y: digit_sum(str(y), WEIGHTS[6:10]) for y in range(1880, 2100)}
# Sequence digits: 2*s + (1 male / 0 female); s < 490 random people, 490..499 scripted.
RANDOM_SLOTS = 490
ID_CAPACITY = 365 * RANDOM_SLOTS  # distinct (birth month/day, s) per region and year
ID_MULT, ID_ADD = 104_729, 7_919
MAX_ID_PAGES = 4  # pages of ID_CAPACITY ordinals per region: birth years at most 3 years earlier
MIN_BIRTH_YEAR = 1900


def region_sum(region_code: str) -> int:
    return digit_sum(region_code, WEIGHTS[:6])


def issue_id(prefix: str, prefix_sum: int, day_of_year: int, seq: int) -> str:
    """``prefix`` (region + year, weighted sum ``prefix_sum``) + month/day + seq + check."""
    total = prefix_sum + _MONTH_DAY_SUM[day_of_year] + _SEQ_SUM[seq]
    return prefix + MONTH_DAY[day_of_year] + _SEQ_TEXT[seq] + CHECK_CHARS[total % 11]


def birth_slot(ordinal: int, id_add: int) -> tuple[int, int, int]:
    """(page, birth day of year, sequence slot) of a person's ordinal within its region.

    Within a page, (day, slot) is a bijection of ``ordinal % ID_CAPACITY`` (ID_MULT is
    prime); for ordinals below ``ID_CAPACITY`` it is the spread of every earlier version.
    """
    page, rest = divmod(ordinal, ID_CAPACITY)
    day_of_year, slot = divmod((ID_MULT * rest + id_add) % ID_CAPACITY, RANDOM_SLOTS)
    return page, day_of_year, slot


def page_year(year: int, page: int, pages: int) -> int:
    """The birth year of a page-``page`` person of age-given ``year``: ``page`` modulo ``pages``.

    At most ``pages - 1`` years earlier (later only where that would fall before
    MIN_BIRTH_YEAR); ``year`` itself with one page.
    """
    if pages == 1:
        return year
    shifted = year - (year - page) % pages
    return shifted if shifted >= MIN_BIRTH_YEAR else shifted + pages
