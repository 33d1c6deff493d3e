-- 家庭成员 Members of each household on D with their vital status.
-- member of h: a persons row of D's civil affairs snapshot with
-- household_id = h; living = not deceased as of D (int_persons__deceased).
-- A person in two households is a member of both. No raw id or name here.

with

persons as (

    select * from {{ ref('stg_civil_affairs__persons') }}
    where extract_date = {{ as_of_date() }}

),

deceased as (

    select * from {{ ref('int_persons__deceased') }}

),

members_with_vital_status as (

    select
        {{ as_of_date() }} as as_of_date,
        persons.household_id,
        persons.person_key,
        persons.masked_id,
        persons.masked_name,
        persons.relation,
        deceased.person_key is not null as is_deceased,
        deceased.person_key is null as is_living,
        deceased.death_date,
        deceased.death_registered_date,
        deceased.death_received_date

    from persons
    left join deceased
        on persons.person_key = deceased.person_key

)

select * from members_with_vital_status
