{#
    How int_claims__latest_versions folds in the run's date D (contract
    sections 2 and 5: "the highest version received so far wins"; v2: an
    increment that loaded counts for later dates even when its own date
    was blocked).

    The table keeps, per claim, the row that wins among the rows merged so
    far, with the batch it came from (received_date, received_batch_id).
    "Wins" is one total order, the same in a merge and in a rebuild:
    higher claim_version, then later extract_date, then later batch. So
    merging is a max: merging a batch twice, or batches in any order,
    gives the table a rebuild from the same batches gives.

    claims_batches_to_merge(): the load batches the run must merge, as a
    list of (extract_date text, batch_id), possibly empty; none when the
    table must be rebuilt as of D instead. A batch is a raw partition's
    content (the loader replaces a date's partition with a new batch on
    every load). Compared at the start of the run:
      held    = the batches the table's rows came from;
      present = the batches in raw.health_medical_claims with extract_date <= D.
    - every held batch is present: merge the present batches not held, i.e.
      D's batch, every earlier batch not merged yet (a blocked day's
      increment, a date loaded late) and batches whose rows all lost
      (merged again: they lose again, nothing changes);
    - a held batch is not present (extract_date > D: a re-run of an earlier
      date; or its partition was replaced by a re-delivery): rebuild as of
      D from every batch present, since a merge cannot take rows out;
    - first build, --full-refresh, empty table, or a table of an earlier
      model (no unique index on claim_id, or no received_batch_id column):
      rebuild.

    claims_rebuild_pre_hook(): the pre-hook that empties the table, inside
    the model's transaction, when (and only when) the run rebuilds it, and
    gives a table of the earlier model the indexes that the `indexes`
    config creates only on a first build or --full-refresh
    (on_schema_change adds the received_batch_id column).
#}
{% macro claims_batches_to_merge() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not claims_table_is_indexed() or not claims_table_has_batches() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set held_rows = run_query(
        "select cast(received_date as text), received_batch_id from " ~ this
        ~ " group by received_date, received_batch_id"
    ).rows -%}
    {%- if held_rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set present_rows = run_query(
        "select cast(extract_date as text), load_batch_id from "
        ~ ref('stg_health__medical_claims')
        ~ " where extract_date <= " ~ as_of_date()
        ~ " group by extract_date, load_batch_id order by extract_date, load_batch_id"
    ).rows -%}
    {%- set present = [] -%}
    {%- for row in present_rows -%}
        {%- do present.append(row[0] ~ '/' ~ row[1]) -%}
    {%- endfor -%}
    {%- set held = [] -%}
    {%- for row in held_rows -%}
        {%- if row[1] is none or (row[0] ~ '/' ~ row[1]) not in present -%}
            {{ return(none) }}
        {%- endif -%}
        {%- do held.append(row[0] ~ '/' ~ row[1]) -%}
    {%- endfor -%}
    {%- set to_merge = [] -%}
    {%- for row in present_rows -%}
        {%- if (row[0] ~ '/' ~ row[1]) not in held -%}
            {%- do to_merge.append((row[0], row[1])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(to_merge) }}
{%- endmacro %}

{% macro claims_table_is_indexed() -%}
    {%- set found = run_query(
        "select count(*) from pg_index where indisunique and indnatts = 1"
        ~ " and indrelid = '" ~ this ~ "'::regclass"
        ~ " and indkey[0] = (select attnum from pg_attribute where attrelid = '"
        ~ this ~ "'::regclass and attname = 'claim_id')"
    ).columns[0].values()[0] -%}
    {{ return(found > 0) }}
{%- endmacro %}

{% macro claims_table_has_batches() -%}
    {%- set found = run_query(
        "select count(*) from pg_attribute where attrelid = '" ~ this ~ "'::regclass"
        ~ " and attname = 'received_batch_id' and not attisdropped"
    ).columns[0].values()[0] -%}
    {{ return(found > 0) }}
{%- endmacro %}

{% macro claims_rebuild_pre_hook() -%}
    {%- set rebuild = is_incremental() and claims_batches_to_merge() is none -%}
    {%- if rebuild and claims_table_is_indexed() -%}
        truncate table {{ this }};
    {%- elif rebuild -%}
        truncate table {{ this }};
        create unique index on {{ this }} (claim_id);
        create index on {{ this }} (settlement_date);
        create index on {{ this }} (received_date)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
