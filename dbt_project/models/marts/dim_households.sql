{{
    config(
        alias='dim_households__recent',
        pre_hook="{{ delete_rows_of_date('as_of_date') }}",
        post_hook=[
            "create index if not exists dim_households_as_of_date_idx on {{ this }} (as_of_date, household_id)",
        ],
    )
}}

-- 户 One row per household of D's roster, with the figures of contract
-- section 5 and its category (null when it has none).

with

households as (

    select * from {{ ref('int_households__categorised') }}

),

regions as (

    select * from {{ ref('regions') }}

),

households_with_region as (

    select
        households.as_of_date,
        households.household_id,
        households.region_code,
        regions.region_name,
        households.city_code,
        households.urban_rural,
        households.head_person_key,
        households.member_count,
        households.deceased_member_count,
        households.household_size,
        households.is_tekun,
        households.is_dibao,
        households.is_linshi,
        households.category,
        households.assessed_monthly_income,
        households.income_assessed_date,
        households.per_capita_income,
        households.out_of_pocket_30,
        households.out_of_pocket_365,
        households.adjusted_per_capita_income,
        households.financial_assets,
        households.residential_properties,
        households.asset_test_passed,
        households.dibao_standard,
        households.standard_effective_date

    from households
    left join regions
        on households.region_code = regions.region_code

)

select * from households_with_region
