-- A06 MEDICAL_SHOCK (medium; household): category TEKUN, DIBAO or
-- MARGINAL, and OOP_30 >= K_SHOCK x S.
-- The category and OOP_30 >= K_SHOCK x S: int_households__categorised.

with

households as (

    select * from {{ ref('int_households__categorised') }}
    where household_size > 0

),

members as (

    select * from {{ ref('int_household_members') }}

),

latest_claim_versions as (

    select * from {{ ref('int_claims__latest_versions') }}
    where {{ settled_in_last_days(30) }}

),

a06_low_income_households_with_medical_shock as (

    select *
    from households
    where category in (
            {{ low_income_category('TEKUN') }},
            {{ low_income_category('DIBAO') }},
            {{ low_income_category('MARGINAL') }}
        )
        and has_medical_shock

),

-- evidence: the claims of OOP_30 (members living or not, (D-30, D])
claims_in_out_of_pocket_30 as (

    {{ claims_evidence('a06_low_income_households_with_medical_shock') }}

),

alerts as (

    select
        {{ as_of_date() }} as alert_date,
        'A06' as rule_code,
        'MEDICAL_SHOCK' as rule_name,
        'medium' as severity,
        shocked.household_id,
        cast(null as text) as person_key,
        shocked.region_code,
        jsonb_build_object(
            'category', shocked.category,
            'out_of_pocket_30', shocked.out_of_pocket_30,
            'dibao_standard', shocked.dibao_standard,
            'k_shock', {{ rule_parameter('k_shock') }},
            'shock_threshold', shocked.medical_shock_threshold,
            'claims', coalesce(claims_in_out_of_pocket_30.claims, cast('[]' as jsonb))
        ) as evidence

    from a06_low_income_households_with_medical_shock as shocked
    left join claims_in_out_of_pocket_30
        on shocked.household_id = claims_in_out_of_pocket_30.household_id

)

select * from alerts
