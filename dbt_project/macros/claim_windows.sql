{#
    settled_in_last_days(days): a claim settled in (D - days, D], the window
    of OOP_30 and OOP_365 (contract section 5), as a condition on
    settlement_date. int_claims__latest_versions keeps every settlement date
    (it is incremental), so each model reading it applies its window here.
#}
{% macro settled_in_last_days(days) -%}
    settlement_date > {{ as_of_date() }} - {{ days }}
        and settlement_date <= {{ as_of_date() }}
{%- endmacro %}
