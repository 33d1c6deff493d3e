{#
    Tests on history tables and partitioned sources check the run's date
    only: `where: "extract_date = __as_of_date__"` in a test's config.
    The placeholder is replaced at run time by the run's extract date D
    (custom macros cannot be called in a test's YAML config), so a daily
    build never re-scans the whole history.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__as_of_date__', as_of_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
