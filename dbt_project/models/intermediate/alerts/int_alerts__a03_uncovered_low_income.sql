-- A03 UNCOVERED_LOW_INCOME (medium; household): not enrolled (neither
-- DIBAO nor TEKUN), asset test passes, PCI <= S.
-- is_enrolled, the asset test and PCI <= S: int_households__categorised.

with

households as (

    select * from {{ ref('int_households__categorised') }}
    where household_size > 0

),

residential_properties as (

    select * from {{ ref('int_households__residential_properties') }}

),

a03_unenrolled_households_below_standard as (

    select *
    from households
    where not is_enrolled
        and asset_test_passed
        and is_pci_within_standard

),

alerts as (

    select
        {{ as_of_date() }} as alert_date,
        'A03' as rule_code,
        'UNCOVERED_LOW_INCOME' as rule_name,
        'medium' as severity,
        uncovered.household_id,
        cast(null as text) as person_key,
        uncovered.region_code,
        jsonb_build_object(
            'assessed_monthly_income', uncovered.assessed_monthly_income,
            'income_assessed_date', uncovered.income_assessed_date,
            'household_size', uncovered.household_size,
            'per_capita_income', trim_scale(uncovered.per_capita_income),
            'dibao_standard', uncovered.dibao_standard,
            'financial_assets', uncovered.financial_assets,
            'financial_assets_limit_per_capita', uncovered.financial_assets_limit_per_capita,
            'residential_properties', uncovered.residential_properties,
            'cert_nos', coalesce(residential_properties.residential_cert_nos, cast('[]' as jsonb)),
            'category', uncovered.category
        ) as evidence

    from a03_unenrolled_households_below_standard as uncovered
    left join residential_properties
        on uncovered.household_id = residential_properties.household_id

)

select * from alerts
