"""The guard of the person_key key (contract section 3, issue 20).

Every person_key of the warehouse must come from one key, or keys stop joining:
a worker without ``SAFETYNET_PSEUDONYM_KEY`` (or with another one) would write rows
that match nothing and nobody would notice. So the first load records a
*fingerprint* of the key in ``raw.pseudonym_key_check`` (HMAC-SHA256 of a constant
with the key: it identifies the key without revealing it) and every later load
compares: a different key stops the load with check ``pseudonym_key_fingerprint``.
The key is also registered with Airflow's secrets masker, so a log line that
happened to hold it shows ``***``.

Rotating the key means re-keying the warehouse:
``python -m safetynet.ingest.keyguard rekey`` with the old key in
``SAFETYNET_PSEUDONYM_KEY`` and the new one in ``SAFETYNET_NEW_PSEUDONYM_KEY`` (or
``..._FILE``) recomputes every raw person_key from its id number in one transaction
and records the new fingerprint (docs/deployment.md, "Rotating the pseudonym key").
``... keyguard status`` says whether the configured key matches.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import sys
from pathlib import Path

import psycopg

from safetynet import config, warehouse
from safetynet.ingest.manifest import DeliveryError

log = logging.getLogger(__name__)
CHECK = "pseudonym_key_fingerprint"
# The message whose HMAC is the fingerprint: a constant, so the fingerprint says only
# "this key or not", never anything about an id number.
FINGERPRINT_MESSAGE = b"safetynet pseudonym key fingerprint v1"
TABLE = "raw.pseudonym_key_check"
# The raw columns keyed by section 3: (table, id number column, person_key column).
KEYED_COLUMNS = (
    ("civil_affairs_households", "head_id_number", "head_person_key"),
    ("civil_affairs_persons", "id_number", "person_key"),
    ("health_medical_claims", "id_number", "person_key"),
    ("health_deaths", "id_number", "person_key"),
    ("housing_properties", "owner_id_number", "owner_person_key"),
    ("bank_balances", "id_number", "person_key"),
)


class KeyMismatch(DeliveryError):
    """The configured key is not the one the warehouse was keyed with."""


def fingerprint(key: str) -> str:
    return hmac.new(key.encode("utf-8"), FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def mask(key: str) -> None:
    """Register the key with Airflow's secrets masker (``config.mask_in_logs``)."""
    config.mask_in_logs(key)


def recorded(conn: psycopg.Connection) -> str | None:
    row = conn.execute(f"select fingerprint from {TABLE}").fetchone()
    return str(row[0]) if row else None


def guard(url: str, key: str) -> None:
    """Before a load: mask the key, record its fingerprint if the warehouse has none
    yet (the first load), else stop with ``KeyMismatch`` if it differs."""
    mask(key)
    mine = fingerprint(key)
    with warehouse.connect(url) as conn:
        conn.execute(
            f"""insert into {TABLE} (fingerprint, recorded_by) values (%s, 'first load')
                on conflict do nothing""",
            (mine,),
        )
        theirs = recorded(conn)
    if theirs != mine:
        raise KeyMismatch(
            CHECK,
            "SAFETYNET_PSEUDONYM_KEY is not the key this warehouse was keyed with (its "
            f"fingerprint differs from the one in {TABLE}): the load would write "
            "person_keys that join nothing. Give this worker the deployment's key; to "
            "change the key, re-key the warehouse (docs/deployment.md, "
            "'Rotating the pseudonym key').",
        )


def rekey(url: str, old_key: str, new_key: str) -> dict[str, int]:
    """Recompute every raw person_key with ``new_key`` and record its fingerprint, in
    one transaction; ``old_key`` must match the recorded fingerprint (a warehouse
    without one is re-keyed as it is). Returns rows re-keyed per table. The marts keep
    the old keys until dbt rebuilds them (docs/deployment.md)."""
    config.check_pseudonym_key(new_key)
    warehouse.ensure_schema(url)
    counts: dict[str, int] = {}
    with warehouse.connect(url) as conn:
        conn.execute(f"lock table {TABLE} in exclusive mode")
        theirs = recorded(conn)
        if theirs is not None and theirs != fingerprint(old_key):
            raise KeyMismatch(
                CHECK,
                "the old key (SAFETYNET_PSEUDONYM_KEY) is not the warehouse's: nothing "
                "was re-keyed",
            )
        for table, id_column, key_column in KEYED_COLUMNS:
            # pgcrypto's hmac(data, key, 'sha256') is section 3's HMAC; the id columns
            # hold the normalised 18-character number the row filter keyed.
            cursor = conn.execute(
                f"""update raw.{table}
                    set {key_column} = hmac(convert_to({id_column}, 'UTF8'),
                                            convert_to(%s::text, 'UTF8'), 'sha256')""",
                (new_key,),
            )
            counts[table] = cursor.rowcount
        conn.execute(f"delete from {TABLE}")
        conn.execute(
            f"insert into {TABLE} (fingerprint, recorded_by) values (%s, 'rekey')",
            (fingerprint(new_key),),
        )
    return counts


def _new_key() -> str:
    value = os.environ.get("SAFETYNET_NEW_PSEUDONYM_KEY", "")
    path = os.environ.get("SAFETYNET_NEW_PSEUDONYM_KEY_FILE", "")
    if not value and path:
        value = Path(path).read_text(encoding="utf-8").removesuffix("\n")
    return value


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "status"
    settings = config.Settings.from_env()
    try:
        key = config.pseudonym_key()
        if action == "status":
            with warehouse.connect(settings.warehouse_url) as conn:
                theirs = recorded(conn)
            if theirs is None:
                print("no fingerprint recorded yet: the next load records this key's")
            elif theirs == fingerprint(key):
                print("the configured key matches the warehouse's fingerprint")
            else:
                print(f"[{CHECK}] the configured key is NOT the warehouse's")
                return 1
        elif action == "rekey":
            counts = rekey(settings.warehouse_url, key, _new_key())
            for table, rows in counts.items():
                print(f"raw.{table}: {rows} rows re-keyed")
            print(
                "fingerprint of the new key recorded. Now give every worker the new key, "
                "then rebuild the marts (docs/deployment.md)."
            )
        else:
            print(f"usage: python -m safetynet.ingest.keyguard status|rekey (got {action!r})")
            return 2
    except (config.PseudonymKeyError, DeliveryError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
