{{
    config(
        materialized='view',
    )
}}

-- 区划维度 One row per county of the deployment (seed `regions`) with its
-- city code and city name (seed `dibao_standards`), so dashboards and
-- analysts filter the marts by city and county without the reference
-- schema (issue 22). A view: nothing is copied, it follows the seeds.

with

regions as (

    select * from {{ ref('regions') }}

),

cities as (

    select distinct on (city_code)
        city_code,
        city_name

    from {{ ref('dibao_standards') }}
    order by city_code asc, effective_date desc

),

final as (

    select
        regions.region_code,
        regions.region_name,
        regions.city_code,
        coalesce(cities.city_name, regions.city_code) as city_name

    from regions
    left join cities
        on regions.city_code = cities.city_code

)

select * from final
