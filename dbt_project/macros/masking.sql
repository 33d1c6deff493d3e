{#
    Display forms of identifiers for analyst-facing tables (contract section 3).
    masked_id: first 6 characters + '********' + last 4.
    masked_name: first character + one '*' per other character (characters,
    not bytes: rare names outside the BMP count as one character each).
#}
{% macro mask_id_number(column) -%}
    left({{ column }}, 6) || '********' || right({{ column }}, 4)
{%- endmacro %}

{% macro mask_name(column) -%}
    left({{ column }}, 1) || repeat('*', greatest(char_length({{ column }}) - 1, 0))
{%- endmacro %}
