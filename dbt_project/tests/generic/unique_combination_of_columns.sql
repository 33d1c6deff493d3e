{#
    The combination of `combination` columns is unique (null-safe: nulls
    are coalesced so (x, null) twice counts as a duplicate). Restrict large
    history tables to the run's date with the `where` config.
#}
{% test unique_combination_of_columns(model, combination) %}

with keyed as (

    select
        {% for column in combination -%}
        coalesce(cast({{ column }} as text), '<null>') as key_{{ loop.index }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ model }}

)

select
    {% for column in combination -%}
    key_{{ loop.index }}{{ "," if not loop.last }}
    {% endfor -%},
    count(*) as occurrences
from keyed
group by {% for column in combination %}key_{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}
having count(*) > 1

{% endtest %}
