{#
    The follow-up deadlines of contract section 9, in working days: the one
    place they are read.

    followup_workdays(name): env SAFETYNET_VERIFY_WORKDAYS_HIGH (default 5),
    SAFETYNET_VERIFY_WORKDAYS_MEDIUM (10) or SAFETYNET_RESOLVE_WORKDAYS (20)
    as an integer literal. Read only at execution (like
    SAFETYNET_AS_OF_DATE in run_parameters.sql): an env var read at parse
    time would make dbt re-parse the project whenever it changes. An empty
    variable means the default; anything but a whole number >= 0 stops the
    run.
    verify_workdays(severity): V for an alert's severity (`high` -> V_HIGH,
    `medium` -> V_MEDIUM), as a SQL expression over the severity column.
    resolve_workdays(): R.
    followup_max_workdays(): the largest of the three (how far ahead
    int_followup__working_days must reach).
#}
{% macro followup_workdays(name) -%}
    {%- set defaults = {
        'SAFETYNET_VERIFY_WORKDAYS_HIGH': 5,
        'SAFETYNET_VERIFY_WORKDAYS_MEDIUM': 10,
        'SAFETYNET_RESOLVE_WORKDAYS': 20,
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown follow-up deadline '" ~ name ~ "'") }}
    {%- endif -%}
    {%- set value = defaults[name] | string -%}
    {%- if execute -%}
        {%- set value = (env_var(name, '') | string | trim) or value -%}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]+', value) -%}
        {%- set problem = "env " ~ name ~ " must be a whole number of working days >= 0" -%}
        {{ exceptions.raise_compiler_error(problem ~ ", got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}

{% macro verify_workdays(severity) -%}
    case {{ severity }}
        when 'high' then {{ followup_workdays('SAFETYNET_VERIFY_WORKDAYS_HIGH') }}
        when 'medium' then {{ followup_workdays('SAFETYNET_VERIFY_WORKDAYS_MEDIUM') }}
    end
{%- endmacro %}

{% macro resolve_workdays() -%}
    {{ followup_workdays('SAFETYNET_RESOLVE_WORKDAYS') }}
{%- endmacro %}

{% macro followup_max_workdays() -%}
    {{ return([
        followup_workdays('SAFETYNET_VERIFY_WORKDAYS_HIGH'),
        followup_workdays('SAFETYNET_VERIFY_WORKDAYS_MEDIUM'),
        followup_workdays('SAFETYNET_RESOLVE_WORKDAYS'),
    ] | max) }}
{%- endmacro %}
