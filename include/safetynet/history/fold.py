"""Fold one date of one table into its change history (issue 23, design 2.3).

``fold(conn, spec, x)`` runs inside the caller's transaction: it stages the snapshot
of X with its key ids, writes the versions (fast path when X is later than every
folded date of the table; else the slow path: equal to the point in time already
kept -> nothing rewritten, different -> replace the day and merge neighbours),
records X in ``audit.history_days``, verifies that the point-in-time rows of X are
the snapshot (count and hash sums; the row text's digest on the slow path and in
``full`` mode) and only then removes the snapshot
(drops the raw partition, under ``lock_timeout``; deletes the mart's ``__recent``
rows of X). Any failure raises: the transaction rolls back and the snapshot stays.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from safetynet.history.specs import CALENDAR, Spec
from safetynet.history.sql import (
    PACKED,
    fill_open_hashes,
    ident,
    pack_sql,
    part_columns,
    part_names,
    row_hash,
    row_text,
    unnest_packed,
    unpacked_columns,
)

log = logging.getLogger(__name__)

FAST = "fast"
SLOW_EQUAL = "slow-equal"
SLOW_REPLACED = "slow-replaced"
LOCK_TIMEOUT = "5s"
# verification of a fast-path fold: "hashes" (default) sums the stored row hashes of
# the versions valid at X against the staged snapshot's; "full" re-reads the point in
# time through the view / __at function and compares the row-text digest. The slow
# path and the slow-equal check always use "full".
FULL = "full"
HASHES = "hashes"
VERIFY_ENV = "SAFETYNET_HISTORY_VERIFY"


class HistoryVerificationError(RuntimeError):
    """The point-in-time rows of a date are not its snapshot: nothing was folded."""


@dataclass(frozen=True)
class Digest:
    """Row count and digest of a set of rows: of their text (``snapshot_digest``,
    ``point_in_time_digest``: md5 of the count and of the sums of two 64-bit hashes of
    each row's text, ``hashtextextended`` with seeds 0 and 1, so no sort of the rows is
    needed), or of their stored hashes (``Staged.digest``, what the calendar records).
    Both sides of a comparison are computed at the same time on the same server."""

    rows: int
    text_md5: str


@dataclass(frozen=True)
class Staged:
    """The staged snapshot ``hs_s``: its row count and, per version table, the count and
    sum of hash(key id, row hash) of its rows, read once (issue 23, speed)."""

    rows: int
    sums: dict[str, tuple[int, int] | None]

    def digest(self) -> Digest:
        """What ``audit.history_days`` records of X: md5 of the count and of these sums
        (the same rows with the same key ids give the same digest, on any path)."""
        text = ":".join([str(self.rows), *(str(self.sums[p]) for p in sorted(self.sums))])
        return Digest(self.rows, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest())


@dataclass
class Folded:
    path: str
    rows: int
    snapshot_kept: bool = False


def snapshot_rel(spec: Spec) -> sql.Composable:
    return ident(spec) if spec.is_raw else ident(spec, "__recent")


_row_text = row_text
# per fold session (SAFETYNET_FOLD_WORKERS of them): at 5M persons the key map of
# bank_balances (7.7M keys, ~515 MB hashed) and the open keys of the largest version
# tables spilled to temp files with 256MB (issue 23)
WORK_MEM = "512MB"
DIGEST = sql.SQL(
    "select count(*), md5(count(*) || ':' || coalesce(sum(d0), 0)"
    " || ':' || coalesce(sum(d1), 0)) from {src}"
)


def _digest_hashes(spec: Spec, alias: str) -> sql.Composable:
    """``d0, d1``: the two 64-bit hashes of a row's text that the digest sums."""
    return sql.SQL("{} as d0, {} as d1").format(
        row_hash(spec.compared, alias, 0), row_hash(spec.compared, alias, 1)
    )


def _digest(conn: psycopg.Connection, source: sql.Composable, spec: Spec) -> Digest:
    query = DIGEST.format(
        src=sql.SQL("(select {h} from {src}) q").format(h=_digest_hashes(spec, "s"), src=source)
    )
    return _fetch_digest(conn, query)


def _fetch_digest(conn: psycopg.Connection, query: sql.Composed) -> Digest:
    row = conn.execute(query).fetchone()
    assert row is not None
    return Digest(int(row[0]), str(row[1]))


def snapshot_source(spec: Spec, x: date) -> sql.Composable:
    return sql.SQL("{rel} s where s.{col} = {x}").format(
        rel=snapshot_rel(spec), col=sql.Identifier(spec.date_column), x=sql.Literal(x)
    )


def point_in_time_source(spec: Spec, x: date) -> sql.Composable:
    """The rows of ``spec`` as of X rebuilt from the history (alias ``s``)."""
    if spec.is_raw:
        return sql.SQL("{f}({x}) s").format(f=ident(spec, "__at"), x=sql.Literal(x))
    return sql.SQL("{v} s where s.{col} = {x}").format(
        v=ident(spec, "__history"), col=sql.Identifier(spec.date_column), x=sql.Literal(x)
    )


def snapshot_digest(conn: psycopg.Connection, spec: Spec, x: date) -> Digest:
    return _digest(conn, snapshot_source(spec, x), spec)


def point_in_time_digest(conn: psycopg.Connection, spec: Spec, x: date) -> Digest:
    return _digest(conn, point_in_time_source(spec, x), spec)


def verify_mode() -> str:
    """``SAFETYNET_HISTORY_VERIFY``: ``hashes`` (default) or ``full``."""
    mode = os.environ.get(VERIFY_ENV, HASHES).strip().lower() or HASHES
    if mode not in (FULL, HASHES):
        raise ValueError(f"{VERIFY_ENV} must be {FULL} or {HASHES}, got {mode!r}")
    return mode


def _hash_check(
    conn: psycopg.Connection, spec: Spec, x: date, staged: Staged, *, numbered: bool = False
) -> str | None:
    """Fast-path verification from the stored hashes: per version table, the count
    and the sum of hash(key_id, row_hash) of the versions valid at X equal those of
    the staged snapshot ``hs_s``, whose key ids are unique (counted here; ``numbered``:
    a first fold's ids are 1..n and the key map's unique constraint refused a repeated
    key). None, or what differs."""
    if not numbered:
        row = conn.execute("select count(*) - count(distinct key_id) from hs_s").fetchone()
        if row is None or row[0] != 0:
            return f"{row[0] if row else '?'} repeated key(s) in the snapshot"
    for suffix in part_names(spec):
        valid = sql.SQL("valid_from <= {x} and (valid_to is null or valid_to > {x})")
        got = _version_sums(conn, spec, suffix, valid.format(x=sql.Literal(x)))
        want = staged.sums[suffix]
        if got != want:
            return f"{spec.table}{suffix}: {got[0] if got else '?'} versions valid, " + (
                f"{want[0] if want else '?'} snapshot rows (or their hashes differ)"
            )
    return None


HASH_SUM = "coalesce(sum(hashtextextended(key_id || ':' || {h}, 0)), 0)"
HASH_SUMS = sql.SQL("select count(*), " + HASH_SUM)


def _version_sums(
    conn: psycopg.Connection, spec: Spec, suffix: str, where: sql.Composable
) -> tuple[int, int] | None:
    """Count and sum of hash(key_id, row_hash) of the versions of a part matching ``where``."""
    query = sql.SQL("{p} from {t} where {w}").format(
        p=HASH_SUMS.format(h=sql.Identifier("row_hash")), t=ident(spec, suffix), w=where
    )
    return conn.execute(query).fetchone()


def _staged_sums(conn: psycopg.Connection, spec: Spec) -> dict[str, tuple[int, int] | None]:
    """The same of the staged snapshot ``hs_s`` (its ``h<part>`` hashes), every part in
    one scan."""
    parts = part_names(spec)
    sums = sql.SQL(", ").join(sql.SQL(HASH_SUM).format(h=sql.Identifier("h" + p)) for p in parts)
    row = conn.execute(sql.SQL("select count(*), {} from hs_s").format(sums)).fetchone()
    assert row is not None
    return {p: (row[0], row[i + 1]) for i, p in enumerate(parts)}


def raw_partition(conn: psycopg.Connection, spec: Spec, x: date) -> str | None:
    """The raw partition holding X (the loader's ``replace_partition`` makes it)."""
    row = conn.execute(
        """select c.oid::regclass::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = %s::regclass
             and pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%%L)', %s::date)""",
        (f"raw.{spec.table}", x),
    ).fetchone()
    return None if row is None else str(row[0])


def _calendar(conn: psycopg.Connection, spec: Spec) -> list[date]:
    rows = conn.execute(
        f"select extract_date from {CALENDAR} where table_name = %s order by 1", (spec.table,)
    ).fetchall()
    return [r[0] for r in rows]


def _key_match(spec: Spec, a: str, b: str) -> sql.Composable:
    return sql.SQL(" and ").join(
        sql.SQL("{} = {}").format(sql.Identifier(a, k), sql.Identifier(b, k)) for k in spec.key
    )


def _stage(conn: psycopg.Connection, spec: Spec, x: date) -> Staged:
    """The snapshot with key ids, stored columns and the row hash of each version part
    (``h__hist``, ``h__histv``) into the temporary table ``hs_s``, in one pass over the
    snapshot; then its new keys into ``__keys`` and their ids into ``hs_s``. Returns
    its count and hash sums (issue 23, speed: the row text's digest is not computed
    here, only where it is compared: 30% of this pass at 1M persons)."""
    _create_staged(conn, spec, x, numbered=False)
    conn.execute("analyze hs_s")  # how many keys are new
    new_keys = _add_new_keys(conn, spec)
    if new_keys * NEW_KEYS_REANALYSE > _staged_rows(conn):
        conn.execute("analyze hs_s")  # the key ids the later joins read
    return _staged(conn, spec)


def _create_staged(conn: psycopg.Connection, spec: Spec, x: date, *, numbered: bool) -> None:
    """``hs_s``: X's snapshot rows with their key ids from ``__keys`` (null for a new
    key), or ``numbered`` 1, 2, ... in the snapshot's order (a first fold)."""
    key_id = "(row_number() over ())::integer" if numbered else "k.key_id"
    keys = (
        sql.SQL("")
        if numbered
        else sql.SQL(" left join {keys} k on {match}").format(
            keys=ident(spec, "__keys"), match=_key_match(spec, "k", "s")
        )
    )
    conn.execute("drop table if exists pg_temp.hs_s")
    conn.execute(
        sql.SQL(
            "create temp table hs_s on commit drop as select {key_id} as key_id, {skeys}, "
            "{stored} from {rel} s{keys} where s.{col} = {x}"
        ).format(
            key_id=sql.SQL(key_id),
            skeys=sql.SQL(", ").join(sql.Identifier("s", k) for k in spec.key),
            stored=_staged_columns(spec),
            rel=snapshot_rel(spec),
            keys=keys,
            col=sql.Identifier(spec.date_column),
            x=sql.Literal(x),
        )
    )


def _staged(conn: psycopg.Connection, spec: Spec) -> Staged:
    sums = _staged_sums(conn, spec)
    counted = sums["__hist"]
    return Staged(counted[0] if counted else 0, sums)


def _first_fold(conn: psycopg.Connection, spec: Spec, x: date) -> Staged | None:
    """The first fold of a table whose history is empty, as a bulk load (issue 23: at 5M
    persons bank_balances' first fold took 135 s of a 201 s compaction): its key map and
    version tables truncated in this transaction (with ``wal_level = minimal`` their
    rows then write no WAL), their indexes dropped, the key ids numbered in the
    snapshot's order as it is staged (no key insert sorted, no id update), every row
    inserted, the indexes built again from their definitions. None, and nothing done,
    when the history holds anything or a reader holds one of its tables (lock_timeout):
    the fold then takes the usual path."""
    tables = [ident(spec, s) for s in ("__keys", *part_names(spec))]
    exists = sql.SQL(" or ").join(sql.SQL("exists (select from {})").format(t) for t in tables)
    row = conn.execute(sql.SQL("select {}").format(exists)).fetchone()
    if row is None or row[0]:
        return None
    if not _truncated(conn, tables):
        return None
    indexes = _drop_indexes(conn, tables)
    _create_staged(conn, spec, x, numbered=True)
    _bulk_insert(conn, spec, x)
    for statement in indexes:
        _restore_index(conn, spec, statement)
    log.info("history: %s.%s %s: first fold, a bulk load", spec.schema, spec.table, x)
    return _staged(conn, spec)


def _truncated(conn: psycopg.Connection, tables: list[sql.Identifier]) -> bool:
    """``truncate`` of the (empty) tables under lock_timeout; False when one is busy."""
    conn.execute("savepoint first_fold")
    conn.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        conn.execute(sql.SQL("truncate {} restart identity").format(sql.SQL(", ").join(tables)))
    except psycopg.errors.LockNotAvailable:
        conn.execute("rollback to savepoint first_fold")
        busy = tables[0].as_string(conn)
        log.info("history: first fold of %s without truncate: a table is busy", busy)
        return False
    conn.execute("release savepoint first_fold")
    conn.execute("set local lock_timeout to default")
    return True


def _drop_indexes(conn: psycopg.Connection, tables: list[sql.Identifier]) -> list[str]:
    """Drop the tables' constraints' indexes (primary key, unique) and other indexes;
    the statements that build them again."""
    rows = conn.execute(
        """select format('alter table %%s add constraint %%I %%s', c.conrelid::regclass,
                         c.conname, pg_get_constraintdef(c.oid)),
                  format('alter table %%s drop constraint %%I', c.conrelid::regclass, c.conname)
           from pg_constraint c where c.conrelid = any(%s::regclass[]) and c.contype in ('p', 'u')
           union all
           select pg_get_indexdef(i.indexrelid), format('drop index %%s', i.indexrelid::regclass)
           from pg_index i where i.indrelid = any(%s::regclass[])
             and not exists (select from pg_constraint c where c.conindid = i.indexrelid)""",
        ([t.as_string(conn) for t in tables],) * 2,
    ).fetchall()
    for _, drop in rows:
        conn.execute(drop)
    return [build for build, _ in rows]


def _bulk_insert(conn: psycopg.Connection, spec: Spec, x: date) -> None:
    """Every staged key into ``__keys`` with its id, the identity moved past them, and
    every staged row as an open version of each part (staged order)."""
    keys, cols = ident(spec, "__keys"), sql.SQL(", ").join(sql.Identifier(k) for k in spec.key)
    conn.execute(
        sql.SQL(
            "insert into {keys} (key_id, {cols}) overriding system value "
            "select key_id, {cols} from hs_s"
        ).format(keys=keys, cols=cols)
    )
    conn.execute(
        "select setval(pg_get_serial_sequence(%s, 'key_id'), coalesce(max(key_id), 1),"
        " max(key_id) is not null) from hs_s",
        (keys.as_string(conn),),
    )
    for suffix in part_names(spec):
        _open_versions(conn, spec, suffix, x, sql.SQL("true"))


def _restore_index(conn: psycopg.Connection, spec: Spec, statement: str) -> None:
    """Build an index again; a repeated key (the key map's unique constraint) is the
    snapshot's fault: said without the key's values (they may be personal data)."""
    try:
        conn.execute(statement)  # built from the catalogue
    except psycopg.errors.UniqueViolation:
        raise HistoryVerificationError(
            f"{spec.schema}.{spec.table}: repeated key(s) in the snapshot; nothing folded, "
            "the snapshot stays"
        ) from None


# (issue 23, first fold at 5M persons) hs_s is analysed again after its key ids were
# filled in when more than 1 row in NEW_KEYS_REANALYSE was new
NEW_KEYS_REANALYSE = 10


def _staged_rows(conn: psycopg.Connection) -> int:
    """hs_s's row count as ``analyze`` left it (pg_class.reltuples)."""
    row = conn.execute("select reltuples::bigint from pg_class where oid = 'hs_s'::regclass")
    found = row.fetchone()
    return int(found[0]) if found else 0


def _add_new_keys(conn: psycopg.Connection, spec: Spec) -> int:
    """The staged keys without an id into ``__keys``, sorted (no ``on conflict``: a
    staged key without an id is not in ``__keys``, so a conflict is an error) and their
    ids into ``hs_s``; returns how many rows got one. At 5M persons, a first fold of
    bank_balances (7.7M new keys): the keys 86.0 s in hash order with ``on conflict``,
    79.4 s without, 35.2 s sorted (unanalysed, the planner sorted them before 4335b44;
    the 1M keys' indexes were 15 MiB larger in hash order); 81.7 s -> 17 s for the ids
    (hs_s analysed before: a hash join, not 7.7M index probes planned for 0.5% of
    nulls)."""
    args = {
        "keys": ident(spec, "__keys"),
        "cols": sql.SQL(", ").join(sql.Identifier(k) for k in spec.key),
        "match": _key_match(spec, "k", "s"),
    }
    conn.execute(
        sql.SQL(
            "insert into {keys} ({cols}) select distinct {cols} from hs_s where key_id is null "
            "order by {cols}"
        ).format(**args)
    )
    filled = conn.execute(
        sql.SQL(
            "update hs_s s set key_id = k.key_id from {keys} k where s.key_id is null and {match}"
        ).format(**args)
    )
    return max(filled.rowcount, 0)


def _staged_columns(spec: Spec) -> sql.Composable:
    """Stored columns and ``h<part>`` row hashes of the snapshot row ``s``."""
    return sql.SQL(", ").join(
        [
            sql.SQL("{} as {}").format(sql.SQL(c.source()), sql.Identifier(c.name))
            for c in spec.stable + spec.volatile
        ]
        + [
            sql.SQL("hashtextextended(row({})::text, 0) as {}").format(
                sql.SQL(", ").join(sql.SQL(c.source()) for c in part_columns(spec, suffix)),
                sql.Identifier("h" + suffix),
            )
            for suffix in part_names(spec)
        ]
    )


def _names(spec: Spec, suffix: str) -> list[str]:
    return [c.name for c in part_columns(spec, suffix)]


def _fast(conn: psycopg.Connection, spec: Spec, x: date, staged: Staged) -> None:
    """Close open versions gone or different on X; open one for every row of X
    without an open identical version (design 2.3, the row hash is the text). A part
    whose open versions have the staged rows' count and hash sum is unchanged: skipped;
    a part without open versions (a first fold) gets every staged row."""
    for suffix in part_names(spec):
        open_sums = _version_sums(conn, spec, suffix, sql.SQL("valid_to is null"))
        if open_sums == staged.sums[suffix]:
            continue
        if open_sums is not None and open_sums[0] == 0:
            _open_versions(conn, spec, suffix, x, sql.SQL("true"))  # staged order
            continue
        _diff(conn, spec, suffix)
        gone = sql.SQL("o.valid_to is null and o.ctid = any(array({}))").format(
            sql.SQL(DIFF_SIDE.format(side="old_tid"))
        )
        if suffix == "__histv":  # closed versions go straight into the packed rows
            _pack(conn, spec, gone, x)
        else:
            conn.execute(
                sql.SQL("update {t} o set valid_to = {x}, row_hash = null where {gone}").format(
                    t=ident(spec, suffix), x=sql.Literal(x), gone=gone
                )
            )
        new = sql.SQL("s.ctid = any(array({}))").format(sql.SQL(DIFF_SIDE.format(side="new_tid")))
        _open_versions(conn, spec, suffix, x, new, in_key_order=True)


# (issue 23, speed) The open versions of a part and the staged rows, matched once on
# (key id, row hash) by one hash full join into ``hs_d``: the unmatched versions close
# (old_tid), the unmatched rows open (new_tid). Two anti-joins of the whole part did
# that before (bank_balances' balances at 5M persons: 20.8 s -> 15.9 s).
DIFF_SIDE = "select {side} from hs_d where {side} is not null"


def _diff(conn: psycopg.Connection, spec: Spec, suffix: str) -> None:
    conn.execute("drop table if exists pg_temp.hs_d")
    conn.execute(
        sql.SQL(
            "create temp table hs_d on commit drop as "
            "select o.ctid as old_tid, s.ctid as new_tid from "
            "(select ctid, key_id, row_hash from {t} where valid_to is null) o "
            "full join hs_s s on s.key_id = o.key_id and s.{h} = o.row_hash "
            "where o.key_id is null or s.key_id is null"
        ).format(t=ident(spec, suffix), h=sql.Identifier("h" + suffix))
    )


def _open_versions(
    conn: psycopg.Connection,
    spec: Spec,
    suffix: str,
    x: date,
    which: sql.Composable,
    in_key_order: bool = False,
) -> None:
    """A version valid from X for each staged row matching ``which``. A first fold's in
    staged order: in key order it fills the open versions' index pages to 90% and the
    next days' changes split them (at 5M persons 420 MiB less after the first fold, but
    34 MiB more growth on the day after). A day's changes in key order (as the merge
    anti-join before 7e30c44 gave them): in staged order the 1M history grew 1.6 MiB
    more a day (dim_households__histv, monitoring_alerts__histv)."""
    names = _names(spec, suffix)
    conn.execute(
        sql.SQL(
            "insert into {t} (key_id, {cols}, valid_from, valid_to, row_hash) "
            "select s.key_id, {scols}, {x}, null, s.{h} from hs_s s where {which}{order}"
        ).format(
            order=sql.SQL(" order by s.key_id" if in_key_order else ""),
            t=ident(spec, suffix),
            h=sql.Identifier("h" + suffix),
            cols=sql.SQL(", ").join(sql.Identifier(n) for n in names),
            scols=sql.SQL(", ").join(sql.Identifier("s", n) for n in names),
            x=sql.Literal(x),
            which=which,
        )
    )


def _pack(
    conn: psycopg.Connection, spec: Spec, where: sql.Composable, closed_on: date | None = None
) -> None:
    """Move the versions of ``__histv`` matching ``where`` into ``__histv_packed``
    (``closed_on``: open versions closed on that date, the fast path)."""
    valid_to = sql.Literal(closed_on) if closed_on else sql.SQL("o.valid_to")
    conn.execute(pack_sql(spec, where, valid_to))


def pack_closed(conn: psycopg.Connection, spec: Spec) -> None:
    """Every closed version left in ``__histv`` (after a slow-path step) packed."""
    if spec.volatile:
        _pack(conn, spec, sql.SQL("o.valid_to is not null"))


def unpack(conn: psycopg.Connection, spec: Spec, since: date) -> None:
    """The packed versions closed on ``since`` or later back into ``__histv`` as
    plain closed versions, for a step that splits, moves or merges them."""
    if not spec.volatile:
        return
    conn.execute(
        sql.SQL(
            "with moved as (delete from {p} where valid_to >= {since} returning *) "
            "insert into {v} (key_id, {cols}, valid_from, valid_to) "
            "select u.key_id, {unpacked}, u.valid_from, m.valid_to from moved m {unnest}"
        ).format(
            p=ident(spec, PACKED),
            v=ident(spec, "__histv"),
            since=sql.Literal(since),
            cols=sql.SQL(", ").join(sql.Identifier(n) for n in _names(spec, "__histv")),
            unpacked=unpacked_columns(spec),
            unnest=unnest_packed(spec, "m"),
        )
    )


def merge_at(conn: psycopg.Connection, spec: Spec, suffix: str, m: date) -> None:
    """Join neighbouring versions of a key meeting at ``m`` with the same row text."""
    names = _names(spec, suffix)
    conn.execute(
        sql.SQL(
            "with pairs as (select a.ctid as a_id, b.ctid as b_id, b.valid_to as b_to "
            "from {t} a join {t} b on b.key_id = a.key_id and b.valid_from = {m} "
            "where a.valid_to = {m} and {arow} = {brow}), "
            "gone as (delete from {t} where ctid in (select b_id from pairs)) "
            "update {t} t set valid_to = pairs.b_to from pairs where t.ctid = pairs.a_id"
        ).format(
            t=ident(spec, suffix),
            m=sql.Literal(m),
            arow=_row_text(names, "a"),
            brow=_row_text(names, "b"),
        )
    )


def _replace_day(conn: psycopg.Connection, spec: Spec, x: date, n: date | None) -> None:
    """Replace X's versions by the rows of ``hs_s`` (design 2.3 "Slow path"):
    split every version covering X into [from, X) and [n, to), insert X's rows as
    [X, n), merge at X and at n (n = the next folded date after X, or none)."""
    cover = sql.SQL("{} and valid_from <= {x} and (valid_to is null or valid_to > {x})")
    unpack(conn, spec, x)
    for suffix in part_names(spec):
        names = _names(spec, suffix)
        table = ident(spec, suffix)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in names)
        args = {"t": table, "x": sql.Literal(x), "n": sql.Literal(n), "cols": cols}
        covers = cover.format(sql.SQL("true"), x=sql.Literal(x))
        conn.execute(
            sql.SQL(
                "insert into {t} (key_id, {cols}, valid_from, valid_to, row_hash) "
                "select key_id, {cols}, valid_from, {x}, null from {t} where {cover} "
                "and valid_from < {x}"
            ).format(cover=covers, **args)
        )
        conn.execute(
            sql.SQL(
                "delete from {t} where {cover} and ({n}::date is null or valid_to <= {n})"
            ).format(cover=covers, **args)
        )
        if n is not None:
            conn.execute(
                sql.SQL("update {t} set valid_from = {n} where {cover}").format(
                    cover=covers, **args
                )
            )
        conn.execute(
            sql.SQL(
                "insert into {t} (key_id, {cols}, valid_from, valid_to, row_hash) "
                "select key_id, {cols}, {x}, {n}, {h} from hs_s"
            ).format(h=sql.Identifier("h" + suffix) if n is None else sql.SQL("null"), **args)
        )
        merge_at(conn, spec, suffix, x)
        if n is not None:
            merge_at(conn, spec, suffix, n)
        conn.execute(fill_open_hashes(spec, suffix))
    pack_closed(conn, spec)


def normalise_dropped(conn: psycopg.Connection, spec: Spec, y: date) -> None:
    """Y left the calendar (discard_day): versions covering no folded date go, the
    bounds at Y move to the next folded date n, neighbours meeting there merge. The
    versions are then those of a fold that never saw Y."""
    later = [d for d in _calendar(conn, spec) if d > y]
    n = later[0] if later else None
    unpack(conn, spec, y)
    for suffix in part_names(spec):
        args = {"t": ident(spec, suffix), "y": sql.Literal(y), "n": sql.Literal(n)}
        conn.execute(
            sql.SQL(
                "delete from {t} where valid_from = {y} and "
                "({n}::date is null or (valid_to is not null and valid_to <= {n}))"
            ).format(**args)
        )
        if n is not None:
            conn.execute(
                sql.SQL("update {t} set valid_from = {n} where valid_from = {y}").format(**args)
            )
        conn.execute(sql.SQL("update {t} set valid_to = {n} where valid_to = {y}").format(**args))
        if n is not None:
            merge_at(conn, spec, suffix, n)
        conn.execute(fill_open_hashes(spec, suffix))
    pack_closed(conn, spec)


def _raw_batch(conn: psycopg.Connection, spec: Spec, x: date) -> int | None:
    row = conn.execute(
        sql.SQL("select count(distinct s.batch_id), min(s.batch_id) from {src}").format(
            src=snapshot_source(spec, x)
        )
    ).fetchone()
    assert row is not None
    if row[0] > 1:
        raise HistoryVerificationError(
            f"raw.{spec.table} {x}: {row[0]} load batches in one partition, expected one"
        )
    return None if row[1] is None else int(row[1])


def _record(
    conn: psycopg.Connection,
    spec: Spec,
    x: date,
    digest: Digest,
    batch: int | None,
    run_id: str | None,
) -> None:
    conn.execute(
        f"""insert into {CALENDAR} (table_name, extract_date, batch_id, rows, text_md5, run_id)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (table_name, extract_date) do update set batch_id = excluded.batch_id,
                rows = excluded.rows, text_md5 = excluded.text_md5, run_id = excluded.run_id,
                folded_at = now()""",
        (spec.table, x, batch, digest.rows, digest.text_md5, run_id),
    )


def _remove_snapshot(conn: psycopg.Connection, spec: Spec, x: date) -> bool:
    """Drop X's raw partition (lock_timeout; on timeout it stays for the next
    compaction) or delete the mart's __recent rows of X. True when removed."""
    if not spec.is_raw:
        conn.execute(  # the date's rows of a mart
            sql.SQL("delete from {rel} where {col} = {x}").format(
                rel=snapshot_rel(spec), col=sql.Identifier(spec.date_column), x=sql.Literal(x)
            )
        )
        return True
    part = raw_partition(conn, spec, x)
    if part is None:
        return True
    conn.execute("savepoint drop_partition")
    conn.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        conn.execute(sql.SQL("drop table {}").format(sql.SQL(part)))
    except psycopg.errors.LockNotAvailable:
        conn.execute("rollback to savepoint drop_partition")
        log.warning("history: raw.%s %s folded, partition kept (busy): next time", spec.table, x)
        return False
    conn.execute("release savepoint drop_partition")
    return True


def fold(
    conn: psycopg.Connection,
    spec: Spec,
    x: date,
    run_id: str | None = None,
    *,
    remove: bool = True,
) -> Folded:
    """Fold the snapshot of X of ``spec`` (inside the caller's transaction); then
    remove the snapshot unless ``remove`` is false (the marts' __recent rows of X go
    together, by ``delete_recent``, once every mart of X is folded)."""
    conn.execute(f"set local work_mem = '{WORK_MEM}'")
    folded = _calendar(conn, spec)
    first = None if folded else _first_fold(conn, spec, x)
    staged = first or _stage(conn, spec, x)
    batch = _raw_batch(conn, spec, x) if spec.is_raw else None
    if x in folded and point_in_time_digest(conn, spec, x) == snapshot_digest(conn, spec, x):
        _record(conn, spec, x, staged.digest(), batch, run_id)
        return Folded(SLOW_EQUAL, staged.rows, remove and not _remove_snapshot(conn, spec, x))
    if not folded or x > folded[-1]:
        path = FAST
        if first is None:
            _fast(conn, spec, x, staged)
    else:
        path = SLOW_REPLACED
        later = [d for d in folded if d > x]
        _replace_day(conn, spec, x, later[0] if later else None)
    _record(conn, spec, x, staged.digest(), batch, run_id)
    if path == FAST and verify_mode() == HASHES:
        problem = _hash_check(conn, spec, x, staged, numbered=first is not None)
        if problem is not None:
            raise HistoryVerificationError(
                f"{spec.schema}.{spec.table} {x}: {problem}; nothing folded, the snapshot stays"
            )
        return Folded(path, staged.rows, remove and not _remove_snapshot(conn, spec, x))
    got, snap = point_in_time_digest(conn, spec, x), snapshot_digest(conn, spec, x)
    if got != snap:
        raise HistoryVerificationError(
            f"{spec.schema}.{spec.table} {x}: point in time gives {got.rows} rows "
            f"(digest {got.text_md5}), the snapshot {snap.rows} ({snap.text_md5}); "
            "nothing folded, the snapshot stays"
        )
    return Folded(path, staged.rows, remove and not _remove_snapshot(conn, spec, x))


def delete_recent(conn: psycopg.Connection, specs: tuple[Spec, ...], x: date) -> None:
    """Delete X's __recent rows of every mart in ``specs`` (one transaction, after all
    of them are folded: a compaction stopped half-way leaves X whole, and the next
    one re-folds it; it never mistakes a consumed snapshot for an empty one). In
    ``full`` verification mode X is then counted through each public view."""
    conn.execute(f"set local work_mem = '{WORK_MEM}'")  # the public views' hash joins
    for spec in specs:
        _remove_snapshot(conn, spec, x)
    if verify_mode() == FULL:
        for spec in specs:
            _check_public_view(conn, spec, x)


def _check_public_view(conn: psycopg.Connection, spec: Spec, x: date) -> None:
    """X read through the mart's public view (dbt's view over the window and the change
    history), now that X left the window: as many rows as X's snapshot had (its calendar
    row). Until issue 23 measured it at 5M persons the dbt test history_view_counts
    counted the latest folded date again every day (26 s of dbt_build for the
    population); once, here, a wrong count rolls X's deletion back. ``full`` mode
    only: at 5M persons these counts took 19-20 s of a fold session every day
    (population 10.6 s: its view joins the households' history), while the hash sums
    already prove every part's versions valid at X are the snapshot's rows; what they
    do not see, the views' own SQL, is the same every day and tested
    (tests/test_history_fold.py, test_history_e2e.py)."""
    got = conn.execute(
        sql.SQL("select count(*) from {view} where {col} = {x}").format(
            view=ident(spec),  # a mart's public name: dbt's view
            col=sql.Identifier(spec.date_column),
            x=sql.Literal(x),
        )
    ).fetchone()
    want = conn.execute(
        f"select rows from {CALENDAR} where table_name = %s and extract_date = %s",
        (spec.table, x),
    ).fetchone()
    if got is None or want is None or got[0] != want[0]:
        raise HistoryVerificationError(
            f"{spec.schema}.{spec.table} {x}: the public view gives {got[0] if got else '?'} "
            f"rows, the snapshot had {want[0] if want else '?'}; {x} stays in the window"
        )
