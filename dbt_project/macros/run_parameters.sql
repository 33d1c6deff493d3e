{#
    The run's parameters as SQL literals.

    as_of_date(): the extract date D (var `as_of_date`, YYYY-MM-DD), the
    run's logical date. Required: a run without it fails with a clear
    message instead of silently picking "today". At parse time (execute is
    false) a placeholder keeps `dbt parse`/`dbt ls`/`dbt seed` usable without it.
    as_of_date_text(): the same date as 'YYYY-MM-DD' text.

    Without the var, D is taken from env SAFETYNET_AS_OF_DATE, read only at
    execution: the Airflow task passes D that way because dbt discards its
    saved manifest (partial parsing) whenever the command-line --vars
    change, i.e. every day, while an env var read only at execution leaves
    the parse unchanged. `--vars '{as_of_date: ...}'` wins when given.

    rule_parameter(name): one of the configurable rule parameters of
    contract section 5 (k_assets, k_marginal, k_shock) as an exact numeric
    literal (never a float).
#}
{% macro as_of_date_text() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('SAFETYNET_AS_OF_DATE', '') or none -%}
    {%- endif -%}
    {%- if value is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "var 'as_of_date' (the extract date D, YYYY-MM-DD) is required,"
                ~ " e.g. --vars '{as_of_date: \"2026-10-01\"}' or env SAFETYNET_AS_OF_DATE"
            ) }}
        {%- endif -%}
        {%- set value = '1970-01-01' -%}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {{ exceptions.raise_compiler_error(
            "var 'as_of_date' must be YYYY-MM-DD, got '" ~ text ~ "'"
        ) }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
    {{ return(text) }}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_text() }}' as date)
{%- endmacro %}

{% macro rule_parameter(name) -%}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]+(\.[0-9]+)?', value) -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ name ~ "' must be a non-negative decimal number, got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    cast('{{ value }}' as numeric)
{%- endmacro %}

{#
    on-run-start: `dbt build/run/test/compile` stop before touching anything
    when as_of_date is missing or malformed (`dbt seed`, `dbt parse`,
    `dbt docs generate` need no date).
#}
{% macro require_as_of_date() -%}
    {%- if execute and flags.WHICH in ('build', 'run', 'test', 'compile', 'show') -%}
        select {{ as_of_date() }} as as_of_date
    {%- else -%}
        select 1 as no_date_needed
    {%- endif -%}
{%- endmacro %}
