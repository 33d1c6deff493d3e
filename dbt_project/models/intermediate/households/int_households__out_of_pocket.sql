-- 自付医疗支出 OOP_n(h): sum of out_of_pocket (highest version received up
-- to D) of claims of members of h, living or not, with settlement_date in
-- (D - n days, D], for n = 30 (A06) and n = 365 (APCI, RIGID_EXPENSE, A04).
-- Households without such claims have no row (OOP = 0). The claims
-- themselves (evidence of A04, A06) are listed by the alert models.
--
-- int_claims__latest_versions keeps every settlement date (it is
-- incremental): only the claims settled in (D-365, D] are read here.

with

members as (

    select * from {{ ref('int_household_members') }}

),

latest_claim_versions as (

    select * from {{ ref('int_claims__latest_versions') }}

),

claims_settled_in_last_365_days as (

    select * from latest_claim_versions
    where {{ settled_in_last_days(365) }}

),

claims_of_members as (

    select
        members.household_id,
        claims_settled_in_last_365_days.settlement_date,
        claims_settled_in_last_365_days.out_of_pocket,
        claims_settled_in_last_365_days.settlement_date > {{ as_of_date() }} - 30
            as is_within_30_days

    from members
    inner join claims_settled_in_last_365_days
        on members.person_key = claims_settled_in_last_365_days.person_key

),

out_of_pocket_windows as (

    select
        household_id,
        coalesce(sum(out_of_pocket) filter (where is_within_30_days), 0) as out_of_pocket_30,
        sum(out_of_pocket) as out_of_pocket_365,
        cast(count(*) filter (where is_within_30_days) as integer) as claim_count_30,
        cast(count(*) as integer) as claim_count_365

    from claims_of_members
    group by household_id

)

select * from out_of_pocket_windows
