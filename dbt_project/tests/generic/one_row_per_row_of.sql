{#
    The model (a table of the run's date D) has exactly as many rows as
    `source` has rows whose `date_column` is D: a fan-out guard without a
    sort (issue 23). For a model built as `source` of D left-joined only to
    relations unique on the join key, equal counts mean one row per source
    row, so the model is unique wherever the source is: a uniqueness the raw
    checks already proved (check_raw's critical compound-key expectations,
    expectations/raw/) is not proven again by grouping millions of rows (at
    5M persons `unique (household_id, person_key)` of int_household_members
    took 6 s alone on dbt_build's critical path). One failing row: both
    counts.
#}
{% test one_row_per_row_of(model, source, date_column) %}

with model_rows as (

    select count(*) as model_rows
    from {{ model }}

),

source_rows as (

    select count(*) as source_rows
    from {{ source }}
    where {{ date_column }} = {{ as_of_date() }}

)

select model_rows, source_rows
from model_rows
cross join source_rows
where model_rows <> source_rows

{% endtest %}
