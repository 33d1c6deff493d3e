{{
    config(
        pre_hook="{{ delete_rows_of_date('as_of_date') }}",
        post_hook=[
            "create index if not exists population_daily_summary_as_of_date_idx on {{ this }} (as_of_date)",
        ],
    )
}}

-- 低收入人口日汇总 Households and persons per county and category on D.

with

population as (

    select * from {{ ref('low_income_population') }}
    where as_of_date = {{ as_of_date() }}

),

regions as (

    select * from {{ ref('regions') }}

),

-- a person in two households of the same county and category counts once
distinct_persons as (

    select
        as_of_date,
        region_code,
        category,
        person_key

    from population
    group by as_of_date, region_code, category, person_key

),

distinct_households as (

    select
        as_of_date,
        region_code,
        category,
        household_id

    from population
    group by as_of_date, region_code, category, household_id

),

persons_per_region_and_category as (

    select
        as_of_date,
        region_code,
        category,
        cast(count(*) as integer) as persons

    from distinct_persons
    group by as_of_date, region_code, category

),

households_per_region_and_category as (

    select
        as_of_date,
        region_code,
        category,
        cast(count(*) as integer) as households

    from distinct_households
    group by as_of_date, region_code, category

),

counts_per_region_and_category as (

    select
        households_per_region_and_category.as_of_date,
        households_per_region_and_category.region_code,
        households_per_region_and_category.category,
        households_per_region_and_category.households,
        persons_per_region_and_category.persons

    from households_per_region_and_category
    inner join persons_per_region_and_category
        on households_per_region_and_category.region_code
        = persons_per_region_and_category.region_code
        and households_per_region_and_category.category
        = persons_per_region_and_category.category

),

summary as (

    select
        counts_per_region_and_category.as_of_date,
        counts_per_region_and_category.region_code,
        regions.region_name,
        regions.city_code,
        counts_per_region_and_category.category,
        counts_per_region_and_category.households,
        counts_per_region_and_category.persons

    from counts_per_region_and_category
    left join regions
        on counts_per_region_and_category.region_code = regions.region_code

)

select * from summary
