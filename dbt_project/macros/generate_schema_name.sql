{#
    Models land in the schema named by their `schema` config exactly
    (`staging`, `intermediate`, `marts`, `reference`), not in dbt's default
    `<target schema>_<custom schema>`: analysts, auditors and the loader's
    grants (include/safetynet/sql/roles.sql) address these names directly.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
