{#
    The relation has at least one row whose `column_name` equals the run's
    extract date D. On a full-snapshot source (civil_affairs, housing, bank)
    a missing partition for D would otherwise silently turn into "no
    members / no assets / no property" for everyone; failing here skips
    every model downstream and leaves the marts untouched.
#}
{% test has_rows_on_as_of_date(model, column_name) %}

with rows_of_date as (

    select count(*) as row_count
    from {{ model }}
    where {{ column_name }} = {{ as_of_date() }}

)

select row_count
from rows_of_date
where row_count = 0

{% endtest %}
