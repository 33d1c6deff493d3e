-- A05 DUPLICATE_ENROLLMENT (high; person + household): a living person who
-- is a member of 2+ distinct DIBAO/TEKUN households, one row per such
-- household. is_enrolled: int_households__categorised.

with

households as (

    select * from {{ ref('int_households__categorised') }}
    where is_enrolled

),

living_members as (

    select * from {{ ref('int_household_members') }}
    where is_living

),

enrollment_status as (

    select * from {{ ref('int_households__enrollment_status') }}

),

memberships_in_enrolled_households as (

    select
        living_members.person_key,
        living_members.masked_id,
        households.household_id,
        households.region_code

    from living_members
    inner join households
        on living_members.household_id = households.household_id

),

a05_persons_in_several_enrolled_households as (

    select
        person_key,
        cast(count(distinct household_id) as integer) as enrolled_household_count

    from memberships_in_enrolled_households
    group by person_key
    having count(distinct household_id) >= 2

),

duplicate_memberships as (

    select
        memberships.*,
        several.enrolled_household_count,
        enrollment_status.dibao_tekun_enrollment_ids

    from memberships_in_enrolled_households as memberships
    inner join a05_persons_in_several_enrolled_households as several
        on memberships.person_key = several.person_key
    left join enrollment_status
        on memberships.household_id = enrollment_status.household_id

),

enrolled_households_per_person as (

    select
        person_key,
        jsonb_agg(
            jsonb_build_object(
                'household_id', household_id,
                'active_enrollment_ids', dibao_tekun_enrollment_ids
            )
            order by household_id
        ) as enrolled_households

    from duplicate_memberships
    group by person_key

),

alerts as (

    select
        {{ as_of_date() }} as alert_date,
        'A05' as rule_code,
        'DUPLICATE_ENROLLMENT' as rule_name,
        'high' as severity,
        duplicate_memberships.household_id,
        duplicate_memberships.person_key,
        duplicate_memberships.region_code,
        jsonb_build_object(
            'masked_id', duplicate_memberships.masked_id,
            'enrolled_household_count', duplicate_memberships.enrolled_household_count,
            'enrolled_households', enrolled_households_per_person.enrolled_households
        ) as evidence

    from duplicate_memberships
    inner join enrolled_households_per_person
        on duplicate_memberships.person_key = enrolled_households_per_person.person_key

)

select * from alerts
