{{
    config(
        unique_key='alert_date',
        pre_hook="{{ delete_rows_of_date('alert_date') }}",
    )
}}

-- 监测预警 One row per alert of rules A01-A06 on D, with is_new against D-1.

with

a01_deceased_beneficiary as (

    select * from {{ ref('int_alerts__a01_deceased_beneficiary') }}

),

a02_asset_test_failed as (

    select * from {{ ref('int_alerts__a02_asset_test_failed') }}

),

a03_uncovered_low_income as (

    select * from {{ ref('int_alerts__a03_uncovered_low_income') }}

),

a04_expenditure_poverty as (

    select * from {{ ref('int_alerts__a04_expenditure_poverty') }}

),

a05_duplicate_enrollment as (

    select * from {{ ref('int_alerts__a05_duplicate_enrollment') }}

),

a06_medical_shock as (

    select * from {{ ref('int_alerts__a06_medical_shock') }}

),

alerts_of_date as (

    select * from a01_deceased_beneficiary
    union all
    select * from a02_asset_test_failed
    union all
    select * from a03_uncovered_low_income
    union all
    select * from a04_expenditure_poverty
    union all
    select * from a05_duplicate_enrollment
    union all
    select * from a06_medical_shock

),

-- alert_key: the alert's subject (rule, household, person), stable across
-- days; person_key is null for household rules, so it is compared null-safe
keyed_alerts as (

    select
        *,
        rule_code || '|' || household_id || '|' || coalesce(person_key, '') as alert_key

    from alerts_of_date

),

-- the alerts that held on D-1, if D-1 was processed (none on the first run)
previous_day_alerts as (

    {% if is_incremental() %}
    select distinct alert_key
    from {{ this }}
    where alert_date = {{ as_of_date() }} - 1
    {% else %}
    select cast(null as text) as alert_key
    where false
    {% endif %}

),

-- new on D unless the same (rule, household, person) held on D-1
flagged_new_alerts as (

    select
        keyed_alerts.*,
        previous_day_alerts.alert_key is null as is_new

    from keyed_alerts
    left join previous_day_alerts
        on keyed_alerts.alert_key = previous_day_alerts.alert_key

),

final as (

    select
        md5(cast(alert_date as text) || '|' || alert_key) as alert_id,
        alert_key,
        alert_date,
        rule_code,
        rule_name,
        severity,
        household_id,
        person_key,
        region_code,
        is_new,
        evidence

    from flagged_new_alerts

)

select * from final
