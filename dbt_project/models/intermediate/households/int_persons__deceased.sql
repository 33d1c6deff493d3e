-- 死亡 Deceased persons as of D (contract section 5): a death record
-- received on or before D (extract_date <= D) with death_date <= D.
-- Death records received after D do not exist for date D, so re-running an
-- earlier date gives the same answer whatever was loaded since.

with

death_records as (

    select * from {{ ref('stg_health__deaths') }}
    where extract_date <= {{ as_of_date() }}

),

deaths_on_or_before_date as (

    select
        person_key,
        death_date,
        death_registered_date,
        extract_date as death_received_date,
        row_number() over (
            partition by person_key
            order by extract_date, death_date, death_registered_date
        ) as record_rank

    from death_records
    where death_date <= {{ as_of_date() }}

),

-- one row per person: the first record received (evidence of A01)
deceased as (

    select
        {{ as_of_date() }} as as_of_date,
        person_key,
        death_date,
        death_registered_date,
        death_received_date

    from deaths_on_or_before_date
    where record_rank = 1

)

select * from deceased
