-- 住房 RP(h): number of distinct cert_no of type `住宅` (residential),
-- cancelled_date empty or > D, with a living member among the owners, in
-- D's housing snapshot (contract section 5). Households without such
-- property have no row (RP = 0).

with

properties as (

    select * from {{ ref('stg_housing__properties') }}
    where extract_date = {{ as_of_date() }}

),

living_members as (

    select * from {{ ref('int_household_members') }}
    where is_living

),

residential_properties_held as (

    select
        cert_no,
        owner_person_key

    from properties
    where property_type = '住宅'
        and (cancelled_date is null or cancelled_date > {{ as_of_date() }})

),

residential_properties_of_living_members as (

    select distinct
        living_members.household_id,
        residential_properties_held.cert_no

    from living_members
    inner join residential_properties_held
        on living_members.person_key = residential_properties_held.owner_person_key

),

residential_properties as (

    select
        household_id,
        count(*) as residential_properties,
        jsonb_agg(cert_no order by cert_no) as residential_cert_nos

    from residential_properties_of_living_members
    group by household_id

)

select * from residential_properties
