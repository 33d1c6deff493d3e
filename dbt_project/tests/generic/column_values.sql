{#
    A model's column checks in one test node (issue 23: each dbt node costs
    ~30 ms of dbt's Python and a PostgreSQL connection, whatever it checks).
    The same checks as dbt's column tests, declared once at model level:

      not_null: [col, ...]         every row where col is null
      unique: [col, ...]           each value of col found more than once
      accepted_values:             each value of col outside `values`
        - {column: col, values: [...]}   (nulls pass, as in dbt's test)
      unique_combinations:         each combination found more than once
        - [col, col, ...]                (nulls equal, as unique_combination_of_columns)
      expressions:                 every row where the rule is not true
        - {name: rule, expression: sql}  (nulls fail, as expression_is_true)

    One failing row per null row, or per duplicated or unaccepted value (as
    the single tests return), each naming its column (the columns, joined
    by ', ', of a combination; the rule's name for an expression) and its
    check: (column_name, check_name, value, n_records). Restrict history tables to
    the run's date with the `where` config, as for the other tests.
#}
{% test column_values(
    model, not_null=[], unique=[], accepted_values=[], unique_combinations=[], expressions=[]
) %}
    {%- set checks = [] -%}
    {%- for column in not_null -%}
        {%- set check -%}
            select
                '{{ column }}'::text as column_name,
                'not_null'::text as check_name,
                null::text as value,
                1::bigint as n_records
            from {{ model }}
            where {{ column }} is null
        {%- endset -%}
        {%- do checks.append(check) -%}
    {%- endfor -%}
    {%- for column in unique -%}
        {%- set check -%}
            select
                '{{ column }}'::text as column_name,
                'unique'::text as check_name,
                {{ column }}::text as value,
                count(*)::bigint as n_records
            from {{ model }}
            where {{ column }} is not null
            group by {{ column }}
            having count(*) > 1
        {%- endset -%}
        {%- do checks.append(check) -%}
    {%- endfor -%}
    {%- for accepted in accepted_values -%}
        {%- set literals = [] -%}
        {%- for value in accepted['values'] -%}
            {%- do literals.append(dbt.string_literal(value)) -%}
        {%- endfor -%}
        {%- set check -%}
            select
                '{{ accepted.column }}'::text as column_name,
                'accepted_values'::text as check_name,
                {{ accepted.column }}::text as value,
                count(*)::bigint as n_records
            from {{ model }}
            where {{ accepted.column }} not in ({{ literals | join(', ') }})
            group by {{ accepted.column }}
        {%- endset -%}
        {%- do checks.append(check) -%}
    {%- endfor -%}
    {%- for combination in unique_combinations -%}
        {%- set check -%}
            select
                '{{ combination | join(", ") }}'::text as column_name,
                'unique_combination'::text as check_name,
                concat_ws(', ', {{ combination | join(', ') }})::text as value,
                count(*)::bigint as n_records
            from {{ model }}
            group by {{ combination | join(', ') }}
            having count(*) > 1
        {%- endset -%}
        {%- do checks.append(check) -%}
    {%- endfor -%}
    {%- for rule in expressions -%}
        {%- set check -%}
            select
                '{{ rule.name }}'::text as column_name,
                'expression_is_true'::text as check_name,
                null::text as value,
                1::bigint as n_records
            from {{ model }}
            where not coalesce(({{ rule.expression }}), false)
        {%- endset -%}
        {%- do checks.append(check) -%}
    {%- endfor %}

    {{ checks | join('\nunion all\n') }}
{% endtest %}
