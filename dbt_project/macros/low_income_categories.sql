{#
    low_income_category(name): the low-income population category `name`
    as a SQL literal, e.g. 'MARGINAL'. The list of categories lives in one
    place, var `low_income_categories` (dbt_project.yml); a name that is not
    in it stops the compilation, so a typo can neither invent a category
    nor silently match nothing.
#}
{% macro low_income_category(name) -%}
    {%- set categories = var('low_income_categories') -%}
    {%- if name not in categories -%}
        {{ exceptions.raise_compiler_error(
            "'" ~ name ~ "' is not a low-income category (var low_income_categories: "
            ~ categories | join(', ') ~ ")"
        ) }}
    {%- endif -%}
    '{{ name }}'
{%- endmacro %}
