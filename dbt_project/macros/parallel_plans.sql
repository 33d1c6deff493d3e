{#
    parallel_plans(): a model's pre-hook that lets PostgreSQL plan its
    statement in parallel (parallel_tuple_cost = var model_parallel_tuple_cost,
    set local: this transaction only). For a model that runs alone on
    dbt_build's critical path; see dbt_project.yml for why not every model.
#}
{% macro parallel_plans() -%}
    set local parallel_tuple_cost = {{ var('model_parallel_tuple_cost') }}
{%- endmacro %}
