-- 家庭人口 size(h) of contract section 5: every household of D's members with
-- its member count, its deceased members and size(h), the members not
-- deceased. Its own table (issue 23): as a CTE of int_households__categorised
-- it was computed again by every parallel worker of that model's joins (three
-- times at 5M persons, 25 s of dbt_build).

with

members as (

    select * from {{ ref('int_household_members') }}

),

household_size as (

    select
        household_id,
        count(*) as member_count,
        count(*) filter (where is_deceased) as deceased_member_count,
        count(*) filter (where is_living) as household_size

    from members
    group by household_id

)

select * from household_size
