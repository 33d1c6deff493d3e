-- A06 MEDICAL_SHOCK (medium; household): category TEKUN, DIBAO or
-- MARGINAL, and OOP_30 >= K_SHOCK x S.

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
    where category in ('TEKUN', 'DIBAO', 'MARGINAL')
        and out_of_pocket_30 >= {{ rule_parameter('k_shock') }} * dibao_standard

),

-- evidence: the claims of OOP_30 (members living or not, (D-30, D])
claims_in_out_of_pocket_30 as (

    select
        members.household_id,
        jsonb_agg(
            jsonb_build_object(
                'claim_id', latest_claim_versions.claim_id,
                'version', latest_claim_versions.claim_version,
                'patient_masked_id', members.masked_id,
                'settlement_date', latest_claim_versions.settlement_date,
                'out_of_pocket', latest_claim_versions.out_of_pocket
            )
            order by latest_claim_versions.settlement_date, latest_claim_versions.claim_id
        ) as claims

    from a06_low_income_households_with_medical_shock as shocked
    inner join members
        on shocked.household_id = members.household_id
    inner join latest_claim_versions
        on members.person_key = latest_claim_versions.person_key
    group by members.household_id

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
            'shock_threshold', {{ rule_parameter('k_shock') }} * shocked.dibao_standard,
            'claims', coalesce(claims_in_out_of_pocket_30.claims, '[]'::jsonb)
        ) as evidence

    from a06_low_income_households_with_medical_shock as shocked
    left join claims_in_out_of_pocket_30
        on shocked.household_id = claims_in_out_of_pocket_30.household_id

)

select * from alerts
