"""SQL of the change history, generated from the specs (issue 23, design 2.2-2.4).

``history_sql()`` is the text of ``include/safetynet/sql/history.sql`` (the tables,
indexes, calendar, views and functions; a unit test keeps the file equal to it:
``python -m safetynet.history sql > include/safetynet/sql/history.sql``). The fold's
statements are built here too, so the views and the fold read one definition.
"""

from __future__ import annotations

from psycopg import sql

from safetynet.history.specs import CALENDAR, RAW_SPECS, SPECS, Spec, Stored

ENGINEER = "safetynet_engineer"
READERS = ("safetynet_analyst", "safetynet_auditor")


def ident(spec: Spec, suffix: str = "") -> sql.Identifier:
    return sql.Identifier(spec.schema, spec.table + suffix)


def part_names(spec: Spec) -> list[str]:
    """The version tables of ``spec``: ``__hist``, and ``__histv`` when volatile."""
    return ["__hist", "__histv"] if spec.volatile else ["__hist"]


# (issue 23, growth) A volatile part keeps its open versions in ``__histv``; a version
# closed by a fold moves, with the others closed on the same date, into one row per
# PACK_KEYS key ids of ``__histv_packed`` (arrays, compressed by TOAST: ~11 bytes a
# version instead of ~60). ``__histv_all`` is every version, open and packed.
PACKED = "__histv_packed"
ALL_VERSIONS = "__histv_all"
PACK_KEYS = 8192
# <t>__histv_at(x): the volatile versions valid on x, reading only the packed rows closed
# after x (a plpgsql function is never inlined, so x is a constant for its index)
VALID_AT = "__histv_at"
# The planner's row estimate of a set-returning function is its ROWS (default 1000);
# <t>__histv_at returns a version per key: millions at a city's or a province's scale.
# With 1000 the public view of a folded date joined 2M households by nested loops of
# index probes (its count at 5M persons: population 20.5 -> 10.8 s, households 9.3 ->
# 5.7 s with hash joins; issue 23). An estimate too high for a small deployment only
# picks hash joins over a few thousand rows.
VALID_AT_ROWS = 1_000_000


def stored_tables(spec: Spec) -> list[str]:
    """The tables of ``spec``'s change history: what is vacuumed and measured."""
    return ["__keys", *part_names(spec), *([PACKED] if spec.volatile else [])]


def stored_relations(spec: Spec) -> list[str]:
    """The tables and the view of all volatile versions: what is granted."""
    return [*stored_tables(spec), *([ALL_VERSIONS] if spec.volatile else [])]


def part_columns(spec: Spec, suffix: str) -> tuple[Stored, ...]:
    return spec.volatile if suffix == "__histv" else spec.stable


def _part_names(spec: Spec, suffix: str) -> list[str]:
    return [c.name for c in part_columns(spec, suffix)]


def row_text(names: list[str] | tuple[str, ...], alias: str) -> sql.Composable:
    """``row(<alias>.<name>, ...)::text``: the text a version is compared on."""
    cols = (sql.Identifier(alias, n) if alias else sql.Identifier(n) for n in names)
    return sql.SQL("row({})::text").format(sql.SQL(", ").join(cols))


def row_hash(names: list[str] | tuple[str, ...], alias: str, seed: int = 0) -> sql.Composable:
    """64-bit hash of the row text: ``row_hash`` of a version (issue 23, speed)."""
    return sql.SQL("hashtextextended({}, {})").format(row_text(names, alias), sql.Literal(seed))


def fill_open_hashes(spec: Spec, suffix: str) -> sql.Composed:
    """Give open versions without one their ``row_hash``. Only open versions keep it
    (the fold compares and verifies on them); a closed version's is null, 8 bytes
    less a version (issue 23, growth). Run after every step that may re-open one."""
    return sql.SQL(
        "update {t} set row_hash = {h} where valid_to is null and row_hash is null;"
    ).format(t=ident(spec, suffix), h=row_hash(_part_names(spec, suffix), ""))


def columns_list(names: list[str], alias: str = "") -> sql.Composable:
    if alias:
        return sql.SQL(", ").join(sql.Identifier(alias, n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def valid_at(alias: str, date: str = "d.extract_date") -> sql.Composable:
    """``alias`` is valid on the date: valid_from <= X < coalesce(valid_to, infinity)."""
    return sql.SQL("{a}.valid_from <= {d} and ({a}.valid_to is null or {a}.valid_to > {d})").format(
        a=sql.Identifier(alias), d=sql.SQL(date)
    )


# (issue 23) The open versions' index leaves 30% of each page free when it is built
# (a first fold builds it after its inserts, fold._first_fold) or appended to: the next
# days' changes land at random keys, and full pages split (at 5M persons a first fold
# inserted in key order, pages 90% full, grew the next day's history by 34 MiB more).
OPEN_INDEX_FILLFACTOR = 70


def _create_tables(spec: Spec) -> sql.Composable:
    keys = sql.SQL(", ").join(
        sql.SQL("{} {} not null").format(sql.Identifier(k), sql.SQL(spec.column_type(k)))
        for k in spec.key
    )
    statements = [
        sql.SQL(
            "create table if not exists {t} (\n"
            "    key_id integer generated always as identity primary key,\n"
            "    {keys},\n    unique ({cols}));"
        ).format(t=ident(spec, "__keys"), keys=keys, cols=columns_list(list(spec.key)))
    ]
    for suffix in part_names(spec):
        cols = sql.SQL(",\n    ").join(
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type))
            for c in part_columns(spec, suffix)
        )
        name = spec.table + suffix
        statements += [
            sql.SQL(
                "create table if not exists {t} (\n    key_id integer not null,\n    {cols},\n"
                "    valid_from date not null,\n    valid_to date\n);"
            ).format(t=ident(spec, suffix), cols=cols),
            # closing a version changes indexed columns: never a HOT update, so free
            # space kept in each page is only lost space (issue 23, growth)
            sql.SQL("alter table {t} set (fillfactor = 100);").format(t=ident(spec, suffix)),
            sql.SQL("alter table {t} add column if not exists row_hash bigint;\n{fill}").format(
                t=ident(spec, suffix), fill=fill_open_hashes(spec, suffix)
            ),
            sql.SQL(
                "create index if not exists {i} on {t} (key_id) where valid_to is null;\n"
                "alter index {si} set (fillfactor = {f});"
            ).format(
                i=sql.Identifier(name + "_open"),
                si=sql.Identifier(spec.schema, name + "_open"),
                t=ident(spec, suffix),
                f=sql.Literal(OPEN_INDEX_FILLFACTOR),
            ),
            sql.SQL("create index if not exists {i} on {t} using brin (valid_from);").format(
                i=sql.Identifier(name + "_from"), t=ident(spec, suffix)
            ),
            sql.SQL("create index if not exists {i} on {t} using brin (valid_to);").format(
                i=sql.Identifier(name + "_to"), t=ident(spec, suffix)
            ),
        ]
    return sql.SQL("\n").join(statements)


def unnest_packed(spec: Spec, alias: str) -> sql.Composed:
    """``cross join lateral unnest(...) as u (...)``: the versions of the packed row
    ``alias``, one per key id (the one home of the unpacking, for the view, the
    reader function and the fold's ``unpack``)."""
    names = _part_names(spec, "__histv")
    return sql.SQL(
        "cross join lateral unnest({a}.key_id, {a}.valid_from, {acols}) "
        "as u (key_id, valid_from, {cols})"
    ).format(a=sql.Identifier(alias), acols=columns_list(names, alias), cols=columns_list(names))


def unpacked_columns(spec: Spec) -> sql.Composed:
    """``u.<column>::<type>, ...``: the stored columns of an unpacked version."""
    return sql.SQL(", ").join(
        sql.SQL("u.{}::{}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in spec.volatile
    )


def _create_packed(spec: Spec) -> sql.Composable:
    """``__histv_packed`` (closed volatile versions, one row per closing date and
    PACK_KEYS key ids) and the view ``__histv_all`` over it and ``__histv``."""
    names = _part_names(spec, "__histv")
    arrays = sql.SQL(",\n    ").join(
        sql.SQL("{} {}[] not null").format(sql.Identifier(c.name), sql.SQL(c.type))
        for c in spec.volatile
    )
    # versions closed before packing existed (or left by a step) move in
    migrate = pack_sql(spec, sql.SQL("o.valid_to is not null"), sql.SQL("o.valid_to"))
    return sql.SQL(
        "create table if not exists {p} (\n    valid_to date not null,\n"
        "    key_id integer[] not null,\n    valid_from date[] not null,\n    {arrays}\n);\n"
        "create index if not exists {i} on {p} (valid_to);\n"
        "create or replace view {a} as\n"
        "select key_id, {cols}, valid_from, valid_to from {v}\nunion all\n"
        "select u.key_id, {unpacked}, u.valid_from, p.valid_to\nfrom {p} p\n{unnest};\n{migrate}"
    ).format(
        migrate=migrate,
        p=ident(spec, PACKED),
        i=sql.Identifier(spec.table + PACKED + "_to"),
        a=ident(spec, ALL_VERSIONS),
        v=ident(spec, "__histv"),
        arrays=arrays,
        cols=columns_list(names),
        unpacked=unpacked_columns(spec),
        unnest=unnest_packed(spec, "p"),
    )


def pack_sql(spec: Spec, where: sql.Composable, valid_to: sql.Composable) -> sql.Composed:
    """Move the versions of ``__histv`` (alias ``o``) matching ``where`` into
    ``__histv_packed``: one row per closing date (``valid_to``, an expression over
    ``o``) and PACK_KEYS key ids, arrays in key order; so the packed rows of a set
    of versions are always the same rows."""
    names = _part_names(spec, "__histv")
    return sql.SQL(
        "with closed as (delete from {v} o where {where} "
        "returning o.key_id, o.valid_from, {to}::date as valid_to, {ocols}) "
        "insert into {p} (valid_to, key_id, valid_from, {cols}) "
        "select valid_to, array_agg(key_id order by key_id), "
        "array_agg(valid_from order by key_id), {aggs} "
        "from closed group by valid_to, key_id / {n};"
    ).format(
        v=ident(spec, "__histv"),
        p=ident(spec, PACKED),
        where=where,
        to=valid_to,
        ocols=columns_list(names, "o"),
        cols=columns_list(names),
        aggs=sql.SQL(", ").join(
            sql.SQL("array_agg({} order by key_id)").format(sql.Identifier(n)) for n in names
        ),
        n=sql.Literal(PACK_KEYS),
    )


def _create_valid_at(spec: Spec) -> sql.Composable:
    """``<t>__histv_at(x)``: the volatile versions valid on x (open ones from ``__histv``,
    closed ones unnested from the packed rows closed after x only)."""
    names = _part_names(spec, "__histv")
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in spec.volatile
    )
    return sql.SQL(
        "create or replace function {f}(x date)\n"
        "returns table (key_id integer, {columns}, valid_from date, valid_to date)\n"
        "language plpgsql stable rows {rows} as $fn$\n#variable_conflict use_column\nbegin\n"
        "    return query\n"
        "    select o.key_id, {ocols}, o.valid_from, o.valid_to from {v} o\n"
        "    where o.valid_from <= x and (o.valid_to is null or o.valid_to > x)\n"
        "    union all\n"
        "    select u.key_id, {unpacked}, u.valid_from, p.valid_to from {p} p\n"
        "    {unnest}\n"
        "    where p.valid_to > x and u.valid_from <= x;\nend $fn$;"
    ).format(
        f=ident(spec, VALID_AT),
        rows=sql.Literal(VALID_AT_ROWS),
        columns=columns,
        ocols=columns_list(names, "o"),
        v=ident(spec, "__histv"),
        unpacked=unpacked_columns(spec),
        p=ident(spec, PACKED),
        unnest=unnest_packed(spec, "p"),
    )


def point_in_time(spec: Spec) -> sql.Composable:
    """select <public columns> from the calendar ``d`` and the versions valid on
    d.extract_date; the caller adds the date condition."""
    outputs = sql.SQL(",\n    ").join(
        sql.SQL("{} as {}").format(sql.SQL(spec.output(name)), sql.Identifier(name))
        for name, _ in spec.columns
    )
    joins: list[sql.Composable] = [
        sql.SQL("join {h} h on {valid}").format(h=ident(spec, "__hist"), valid=valid_at("h")),
        sql.SQL("join {k} k on k.key_id = h.key_id").format(k=ident(spec, "__keys")),
    ]
    if spec.volatile:
        joins.append(
            sql.SQL("join lateral {f}(d.extract_date) v on v.key_id = h.key_id").format(
                f=ident(spec, VALID_AT)
            )
        )
    if spec.joins:
        joins.append(sql.SQL(spec.joins))
    return sql.SQL(
        "select\n    {outputs}\nfrom {cal} d\n{joins}\nwhere d.table_name = {name}"
    ).format(
        outputs=outputs,
        cal=sql.SQL(CALENDAR),
        joins=sql.SQL("\n").join(joins),
        name=sql.Literal(spec.table),
    )


def _reader(spec: Spec) -> sql.Composable:
    if spec.is_raw:
        return sql.SQL(
            "create or replace function {f}(x date) returns setof {t}\n"
            "language sql stable as $fn$\n{body}\n    and d.extract_date = x\n$fn$;"
        ).format(f=ident(spec, "__at"), t=ident(spec), body=point_in_time(spec))
    return sql.SQL("create or replace view {v} as\n{body};").format(
        v=ident(spec, "__history"), body=point_in_time(spec)
    )


def _grants(spec: Spec) -> sql.Composable:
    tables = sql.SQL(", ").join(ident(spec, s) for s in stored_relations(spec))
    readers = sql.SQL(", ").join(sql.Identifier(r) for r in READERS)
    engineer = sql.Identifier(ENGINEER)
    if spec.is_raw:
        functions = sql.SQL(", ").join(
            sql.SQL("{}(date)").format(ident(spec, f))
            for f in ["__at", *([VALID_AT] if spec.volatile else [])]
        )
        return sql.SQL(
            "grant all on {t} to {e};\nrevoke all on {t} from {r};\n"
            "revoke all on function {f} from public;\n"
            "grant execute on function {f} to {e};"
        ).format(t=tables, e=engineer, r=readers, f=functions)
    return sql.SQL("grant all on {t}, {v} to {e};\ngrant select on {t}, {v} to {r};").format(
        t=tables, v=ident(spec, "__history"), e=engineer, r=readers
    )


HEADER = """\
-- Change history (issue 23, docs/history.md, docs/history-design.md 2.2-2.4).
-- GENERATED from safetynet/history/specs.py: do not edit by hand, run
--   python -m safetynet.history sql > include/safetynet/sql/history.sql
-- Idempotent, run by every set-up after roles.sql and before dbt (it reads no
-- dbt table). Raw history: engineers only. Mart history:
-- readable like the marts. audit.history_days: auditors, by name.
"""

CALENDAR_SQL = """\
-- 已折叠日期 the folded dates: a version is visible on X when it is valid on X and
-- (table, X) is here. batch_id: the raw load batch that stood for X; rows and
-- text_md5: the snapshot's row count and digest (the fold's proof: md5 of the count
-- and of the sums of hash(key id, row hash) of each version table, history.fold).
create table if not exists audit.history_days (
    table_name text not null, extract_date date not null,
    batch_id bigint,
    rows bigint not null,
    text_md5 text not null,
    run_id text, folded_at timestamptz not null default now(),
    primary key (table_name, extract_date));
-- dates taken out of the calendar (discard_day): the next compaction moves the
-- version bounds at such a date to the next folded date and merges (history.fold)
create table if not exists audit.history_dropped_days (
    table_name text not null, extract_date date not null,
    primary key (table_name, extract_date));
create or replace function audit.history_days_dropped() returns trigger
language plpgsql as $fn$
begin
    insert into audit.history_dropped_days
    select distinct table_name, extract_date from gone
    on conflict do nothing;
    return null;
end $fn$;
create or replace trigger history_days_dropped after delete on audit.history_days
    referencing old table as gone for each statement
    execute function audit.history_days_dropped();
grant all on audit.history_days, audit.history_dropped_days to safetynet_engineer;
grant select on audit.history_days to safetynet_auditor;
"""


def history_sql() -> str:
    """The whole text of sql/history.sql."""
    parts = [HEADER, CALENDAR_SQL]
    for spec in SPECS:
        kind = "raw snapshot" if spec in RAW_SPECS else "mart"
        parts.append(f"-- {spec.schema}.{spec.table} ({kind})\n")
        packed = [_create_packed(spec), _create_valid_at(spec)] if spec.volatile else []
        for piece in (_create_tables(spec), *packed, _reader(spec), _grants(spec)):
            parts.append(piece.as_string() + "\n")
    return "\n".join(parts)
