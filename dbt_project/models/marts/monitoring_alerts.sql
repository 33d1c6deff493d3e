{{
    config(
        alias='monitoring_alerts__recent',
        pre_hook="{{ delete_rows_of_date('alert_date') }}",
        post_hook=[
            "create index if not exists monitoring_alerts_alert_id_idx on {{ this }} (alert_id)",
        ],
    )
}}

-- 监测预警 One row per alert of rules A01-A06 on D, with is_new, its episode
-- and alert_id (contract sections 5 and 9) against the latest processed
-- date before D (not D - 1: a blocked or skipped day is not processed).

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

-- the latest processed date before D (macro latest_processed_date_before:
-- marts.low_income_population has rows for it); null on the first one
latest_processed_date as (

    select {{ latest_processed_date_before(as_of_date()) }} as processed_date

),

-- the alerts that held on the latest processed date before D, with the
-- start of their episode (none on the first processed date); read from the
-- public view (macro full_history): on a re-run of an old date the previous
-- processed date may be folded into the change history (issue 23)
alerts_of_the_latest_processed_date as (

    {% if is_incremental() %}
        select
            previous_alerts.alert_key,
            previous_alerts.episode_start

        from {{ full_history(this) }} as previous_alerts
        inner join latest_processed_date
            on previous_alerts.alert_date = latest_processed_date.processed_date
    {% else %}
        select
            cast(null as text) as alert_key,
            cast(null as date) as episode_start
        from latest_processed_date
        where false
    {% endif %}

),

-- new on D unless the same (rule, household, person) held on the latest
-- processed date before D; an episode starts where the alert is new and
-- goes on while it holds on every following processed date
episodes as (

    select
        keyed_alerts.*,
        alerts_of_the_latest_processed_date.alert_key is null as is_new,
        coalesce(
            alerts_of_the_latest_processed_date.episode_start, keyed_alerts.alert_date
        ) as episode_start

    from keyed_alerts
    left join alerts_of_the_latest_processed_date
        on keyed_alerts.alert_key = alerts_of_the_latest_processed_date.alert_key

),

final as (

    select
        {{ episode_alert_id('rule_code', 'household_id', 'person_key', 'episode_start') }}
            as alert_id,
        alert_key,
        alert_date,
        rule_code,
        rule_name,
        severity,
        household_id,
        person_key,
        region_code,
        episode_start,
        is_new,
        evidence

    from episodes

)

select * from final
