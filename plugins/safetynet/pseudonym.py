"""person_key = HMAC-SHA256(SAFETYNET_PSEUDONYM_KEY, normalised id) (contract section 3).

Keys are computed in this process (the key never enters SQL text, logs or
dbt) and cached in ``raw.person_keys`` (restricted), so each id number is
hashed once, not once per row per day. The cache remembers a fingerprint
of the key; a different key empties it.
"""

from __future__ import annotations

import hashlib
import hmac

import psycopg

from safetynet import warehouse
from safetynet.identity import is_valid_id

FINGERPRINT_MESSAGE = b"safetynet person_key cache"
CACHE_LOCK = 7_100_002


class PersonKeys:
    def __init__(self, key: str, url: str) -> None:
        self._hmac = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)
        self._url = url
        self.fingerprint = self.of(FINGERPRINT_MESSAGE.decode())

    def of(self, normalised_id: str) -> str:
        mac = self._hmac.copy()
        mac.update(normalised_id.encode("utf-8"))
        return mac.hexdigest()

    def reset_if_key_changed(self) -> None:
        with warehouse.connect(self._url) as conn:
            conn.execute("select pg_advisory_xact_lock(%s)", (CACHE_LOCK,))
            row = conn.execute("select fingerprint from raw.person_key_fingerprint").fetchone()
            if row and row[0] == self.fingerprint:
                return
            conn.execute("truncate raw.person_keys")
            conn.execute("delete from raw.person_key_fingerprint")
            conn.execute("insert into raw.person_key_fingerprint values (%s)", (self.fingerprint,))

    def ensure(self, conn: psycopg.Connection, ids_query: str) -> int:
        """Add keys for the valid ids ``ids_query`` returns that the cache lacks; return
        how many ids it returned (cached or not).

        Committed at once. Only GB 11643-valid ids get a key, so the cache is
        also the loader's validity check: an id the cache lacks after this is
        invalid (``rowcheck``). Each new id is checked once, here, in Python.
        """
        ids = (f"copy (select q.id, k.id_number is not null from ({ids_query}) as q(id) "
               "left join raw.person_keys as k on k.id_number = q.id "
               "where q.id is not null) to stdout")
        given = 0
        with warehouse.connect(self._url) as side:
            side.execute("create temp table _new_keys (id_number text, person_key text)")
            with conn.cursor() as cur, cur.copy(ids) as out, side.cursor() as put, \
                    put.copy("copy _new_keys from stdin") as into:
                for normalised, cached in out.rows():
                    given += 1
                    if cached != "t" and is_valid_id(normalised):
                        into.write_row((normalised, self.of(normalised)))
            side.execute("insert into raw.person_keys select * from _new_keys order by 1 "
                         "on conflict do nothing")
        return given
