{#
    The combination of `combination` columns is unique (GROUP BY treats
    nulls as equal, so (x, null) twice counts as a duplicate). Restrict
    large history tables to the run's date with the `where` config.
#}
{% test unique_combination_of_columns(model, combination) %}

select
    {{ combination | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
