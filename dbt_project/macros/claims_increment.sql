{#
    How int_claims__latest_versions folds in the run's date D (contract
    sections 2 and 5: "the highest version received so far wins").

    claims_merged_up_to(): the latest extract date the incremental table
    already holds when D is later than it, i.e. the run can merge just the
    claim rows of the batches in (that date, D]. none when the table must be
    rebuilt as of D instead:
      - first build or --full-refresh (not is_incremental());
      - the table is empty;
      - the table has no unique index on claim_id: it was built before the
        model became incremental (a table of the 365-day window only), so
        its rows cannot be trusted as "every claim up to its last date";
      - D <= the latest extract date it holds: a re-run of a date already
        merged (its partition may have been re-delivered) or a backfill of
        an earlier date. Merging could not take out the versions received
        after D, so the table is emptied (claims_rebuild_pre_hook) and
        rebuilt from every batch received up to D.
    Dates compare as YYYY-MM-DD text. Gaps are safe: a run for D merges
    every batch after the held date, so a skipped day's batch is not lost.

    claims_rebuild_pre_hook(): the pre-hook that empties the table, inside
    the model's transaction, when (and only when) the run rebuilds it, and
    gives a table of the earlier model the indexes that the `indexes`
    config creates only on a first build or --full-refresh.
#}
{% macro claims_merged_up_to() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not claims_table_is_indexed() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set held = run_query("select max(received_date) from " ~ this).columns[0].values()[0] -%}
    {%- set as_of = as_of_date_text() -%}
    {%- if held is none or (held | string)[:10] >= as_of -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return((held | string)[:10]) }}
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

{% macro claims_rebuild_pre_hook() -%}
    {%- if is_incremental() and claims_merged_up_to() is none -%}
        truncate table {{ this }};
        {%- if not claims_table_is_indexed() %}
        create unique index on {{ this }} (claim_id);
        create index on {{ this }} (settlement_date);
        create index on {{ this }} (received_date)
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
