{#
    Every `column_name` of the run's date D in the model exists in `to`.`field`
    on the same date (`date_column` in the model, `to_date_column` in `to`,
    default the same name). The plain relationships test would accept a
    match on any other date of a history table.
#}
{% test relationships_on_date(model, column_name, to, field, date_column, to_date_column=none) %}

{%- set parent_date_column = to_date_column or date_column -%}

with

child as (

    select {{ column_name }} as key_value
    from {{ model }}
    where {{ date_column }} = {{ as_of_date() }}
        and {{ column_name }} is not null

),

parent as (

    select {{ field }} as key_value
    from {{ to }}
    where {{ parent_date_column }} = {{ as_of_date() }}

)

select child.key_value
from child
left join parent
    on child.key_value = parent.key_value
where parent.key_value is null

{% endtest %}
