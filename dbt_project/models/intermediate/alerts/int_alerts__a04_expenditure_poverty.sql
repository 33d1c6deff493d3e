-- A04 EXPENDITURE_POVERTY (medium; household): not enrolled, asset test
-- passes, PCI > S and APCI <= S (medical spending of the last 365 days
-- pushes the household below the standard).
-- is_enrolled, the asset test, PCI <= S and APCI <= S: int_households__categorised.

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
    where {{ settled_in_last_days(365) }}

),

a04_unenrolled_households_below_standard_after_medical_costs as (

    select *
    from households
    where not is_enrolled
        and asset_test_passed
        and not is_pci_within_standard
        and is_apci_within_standard

),

-- evidence: the claims of OOP_365 (members living or not, (D-365, D])
claims_in_out_of_pocket_365 as (

    {{ claims_evidence('a04_unenrolled_households_below_standard_after_medical_costs') }}

),

alerts as (

    select
        {{ as_of_date() }} as alert_date,
        'A04' as rule_code,
        'EXPENDITURE_POVERTY' as rule_name,
        'medium' as severity,
        poor.household_id,
        cast(null as text) as person_key,
        poor.region_code,
        jsonb_build_object(
            'assessed_monthly_income', poor.assessed_monthly_income,
            'household_size', poor.household_size,
            'per_capita_income', trim_scale(poor.per_capita_income),
            'out_of_pocket_365', poor.out_of_pocket_365,
            'adjusted_per_capita_income', trim_scale(poor.adjusted_per_capita_income),
            'dibao_standard', poor.dibao_standard,
            'financial_assets', poor.financial_assets,
            'residential_properties', poor.residential_properties,
            'category', poor.category,
            'claims', coalesce(claims_in_out_of_pocket_365.claims, cast('[]' as jsonb))
        ) as evidence

    from a04_unenrolled_households_below_standard_after_medical_costs as poor
    left join claims_in_out_of_pocket_365
        on poor.household_id = claims_in_out_of_pocket_365.household_id

)

select * from alerts
