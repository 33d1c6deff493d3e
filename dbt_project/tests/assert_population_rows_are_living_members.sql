-- low_income_population of D has exactly one row per living member of each
-- household with a category: its row count equals the sum of those
-- households' sizes.
-- Together with the grain tests of int_household_members and
-- int_households__categorised this proves the mart's grain
-- (as_of_date, household_id, person_key) without sorting 1M rows.

with

expected as (

    select coalesce(sum(household_size), 0) as row_count
    from {{ ref('int_households__categorised') }}
    where category is not null

),

actual as (

    select count(*) as row_count
    from {{ ref('low_income_population') }}
    where as_of_date = {{ as_of_date() }}

)

select
    expected.row_count as expected_rows,
    actual.row_count as actual_rows
from expected
cross join actual
where expected.row_count <> actual.row_count
