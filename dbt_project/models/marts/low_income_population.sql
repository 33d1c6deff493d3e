{{
    config(
        alias='low_income_population__recent',
        pre_hook="{{ delete_rows_of_date('as_of_date') }}",
        post_hook=[
            "create index if not exists low_income_population_as_of_date_idx on {{ this }} (as_of_date)",
        ],
    )
}}

-- 低收入人口 Every living member of a household with a category on D.

with

households as (

    select * from {{ ref('int_households__categorised') }}
    where category is not null

),

living_members as (

    select * from {{ ref('int_household_members') }}
    where is_living

),

population as (

    select
        households.as_of_date,
        households.household_id,
        living_members.person_key,
        living_members.masked_id,
        living_members.masked_name,
        living_members.relation,
        households.region_code,
        households.urban_rural,
        households.category,
        households.household_size,
        households.assessed_monthly_income,
        households.per_capita_income,
        households.out_of_pocket_365,
        households.adjusted_per_capita_income,
        households.financial_assets,
        households.residential_properties,
        households.dibao_standard

    from households
    inner join living_members
        on households.household_id = living_members.household_id

)

select * from population
