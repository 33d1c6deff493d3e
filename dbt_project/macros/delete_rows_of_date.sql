{#
    Pre-hook of the history marts: remove the rows of the run's date D
    before the incremental insert, inside the model's transaction.

    The marts' incremental strategy is append (dbt_project.yml): this is the
    only delete. delete+insert deleted only dates present in the new batch,
    so a re-run of D that now yields no rows (e.g. a corrected extract
    without alerts) would have left D's stale rows behind, and its delete
    scanned the table once more (issue 23). Earlier and later dates are never
    touched. No-op on the first run, when the table does not exist yet.
#}
{% macro delete_rows_of_date(date_column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ date_column }} = {{ as_of_date() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
