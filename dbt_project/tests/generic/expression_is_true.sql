{#
    Every row satisfies the boolean SQL `expression` (nulls count as failures).
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
