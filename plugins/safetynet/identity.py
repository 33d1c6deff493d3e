"""Identity rules of the contract (section 3) as SQL and as Python.

The loader normalises millions of ids set-based inside PostgreSQL, so
normalisation is SQL functions (``language sql immutable``: the planner
inlines them, no per-row function call). Validity (GB 11643) is checked
in Python, once per id the person-key cache does not hold yet
(``pseudonym.PersonKeys.ensure``); the cache then holds valid ids only.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
FULL_WIDTH = "０１２３４５６７８９ｘＸ"
HALF_WIDTH = "0123456789xX"
WHITESPACE = " \t\r\n\u3000"


def check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise_id(value: str) -> str:
    """Trim, full-width to half-width, x to X, 15-digit legacy to 18."""
    text = value.strip(WHITESPACE).translate(str.maketrans(FULL_WIDTH, HALF_WIDTH)).upper()
    if len(text) == 15 and text.isdigit():
        first17 = text[:6] + "19" + text[6:]
        return first17 + check_char(first17)
    return text


def is_valid_id(normalised: str) -> bool:
    """GB 11643: 18 ASCII characters, 17 digits, the check character, a real date."""
    if len(normalised) != 18 or not normalised.isascii() or not normalised[:17].isdigit():
        return False
    if normalised[17] != check_char(normalised[:17]):
        return False
    try:
        date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
    except ValueError:
        return False
    return True


def person_key(normalised: str, key: str) -> str:
    return hmac.new(key.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_sum_sql(arg: str) -> str:
    terms = " + ".join(
        f"substr({arg}, {i + 1}, 1)::int * {w}" for i, w in enumerate(WEIGHTS)
    )
    return f"substr('{CHECK_CHARS}', (({terms}) % 11) + 1, 1)"


def _calendar_date_sql(y: str, m: str, d: str) -> str:
    """True when y-m-d (text digits) is a real calendar date; never raises."""
    return (
        f"case when {m}::int between 1 and 12 and {y}::int >= 1 and {d}::int >= 1 then "
        f"{d}::int <= extract(day from make_date({y}::int, {m}::int, 1)"
        " + interval '1 month - 1 day')::int else false end"
    )


def sql_functions() -> str:
    """DDL of the SQL twins, created in schema ``raw`` (restricted).

    Each function is one FROM-less expression, so PostgreSQL inlines it into
    the calling query (no per-row function call) as long as it is given plain
    columns: the loader trims the delivered values first.
    """
    half = f"upper(translate(btrim($1, e' \\t\\r\\n\\u3000'), '{FULL_WIDTH}', '{HALF_WIDTH}'))"
    upgraded17 = "(left($1, 6) || '19' || substr($1, 7, 9))"
    iso = _calendar_date_sql("substr($1, 1, 4)", "substr($1, 6, 2)", "substr($1, 9, 2)")
    compact = _calendar_date_sql("substr($1, 1, 4)", "substr($1, 5, 2)", "substr($1, 7, 2)")
    return f"""
create or replace function raw.half_width_id(text) returns text
language sql immutable parallel safe as $$ select {half} $$;
create or replace function raw.upgrade_legacy_id(text) returns text
language sql immutable parallel safe as $$
  select case when $1 ~ '^[0-9]{{15}}$' then {upgraded17} || {_check_sum_sql(upgraded17)}
              else $1 end
$$;
create or replace function raw.normalise_id(text) returns text
language sql immutable parallel safe as $$
  select case when octet_length($1) = 18 and ltrim($1, '0123456789X') = '' then $1
              else raw.upgrade_legacy_id(raw.half_width_id($1)) end
$$;
create or replace function raw.is_iso_date(text) returns boolean
language sql immutable parallel safe as $$
  select case when $1 ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' then ({iso}) else false end
$$;
create or replace function raw.is_compact_date(text) returns boolean
language sql immutable parallel safe as $$
  select case when $1 ~ '^[0-9]{{8}}$' then ({compact}) else false end
$$;
"""
