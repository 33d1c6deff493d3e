-- A02 ASSET_TEST_FAILED (high; household): a DIBAO or TEKUN household
-- whose asset test fails: FA / size > K_ASSETS x S, or RP > 1.
-- is_enrolled and the asset test: int_households__categorised.

with

households as (

    select * from {{ ref('int_households__categorised') }}
    where household_size > 0

),

enrollment_status as (

    select * from {{ ref('int_households__enrollment_status') }}

),

residential_properties as (

    select * from {{ ref('int_households__residential_properties') }}

),

a02_enrolled_households_failing_asset_test as (

    select *
    from households
    where is_enrolled
        and not asset_test_passed

),

alerts as (

    select
        {{ as_of_date() }} as alert_date,
        'A02' as rule_code,
        'ASSET_TEST_FAILED' as rule_name,
        'high' as severity,
        failing.household_id,
        cast(null as text) as person_key,
        failing.region_code,
        jsonb_build_object(
            'financial_assets', failing.financial_assets,
            'account_count', failing.account_count,
            'household_size', failing.household_size,
            'financial_assets_per_capita', trim_scale(failing.financial_assets_per_capita),
            'dibao_standard', failing.dibao_standard,
            'k_assets', {{ rule_parameter('k_assets') }},
            'financial_assets_limit_per_capita', failing.financial_assets_limit_per_capita,
            'financial_assets_failed', not failing.is_financial_assets_within_limit,
            'residential_properties', failing.residential_properties,
            'residential_properties_limit', 1,
            'residential_properties_failed', not failing.is_residential_properties_within_limit,
            'cert_nos', coalesce(residential_properties.residential_cert_nos, cast('[]' as jsonb)),
            'is_dibao', failing.is_dibao,
            'is_tekun', failing.is_tekun,
            'active_enrollment_ids', enrollment_status.dibao_tekun_enrollment_ids
        ) as evidence

    from a02_enrolled_households_failing_asset_test as failing
    left join enrollment_status
        on failing.household_id = enrollment_status.household_id
    left join residential_properties
        on failing.household_id = residential_properties.household_id

)

select * from alerts
