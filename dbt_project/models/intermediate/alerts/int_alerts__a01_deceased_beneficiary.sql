-- A01 DECEASED_BENEFICIARY (high; person + household): a deceased member
-- of a DIBAO or TEKUN household, one row per such household. The only rule
-- that also covers households of size 0 (every member deceased).

with

households as (

    select * from {{ ref('int_households__categorised') }}

),

members as (

    select * from {{ ref('int_household_members') }}

),

enrollment_status as (

    select * from {{ ref('int_households__enrollment_status') }}

),

a01_deceased_members_of_enrolled_households as (

    select
        households.household_id,
        households.region_code,
        households.is_tekun,
        households.is_dibao,
        enrollment_status.dibao_tekun_enrollment_ids,
        households.household_size,
        members.person_key,
        members.masked_id,
        members.death_date,
        members.death_registered_date,
        members.death_received_date

    from members
    inner join households
        on members.household_id = households.household_id
    inner join enrollment_status
        on members.household_id = enrollment_status.household_id
    where members.is_deceased
        and households.is_enrolled

),

alerts as (

    select
        {{ as_of_date() }} as alert_date,
        'A01' as rule_code,
        'DECEASED_BENEFICIARY' as rule_name,
        'high' as severity,
        household_id,
        person_key,
        region_code,
        jsonb_build_object(
            'masked_id', masked_id,
            'death_date', death_date,
            'death_registered_date', death_registered_date,
            'death_record_received_date', death_received_date,
            'is_dibao', is_dibao,
            'is_tekun', is_tekun,
            'active_enrollment_ids', dibao_tekun_enrollment_ids,
            'household_size', household_size
        ) as evidence

    from a01_deceased_members_of_enrolled_households

)

select * from alerts
