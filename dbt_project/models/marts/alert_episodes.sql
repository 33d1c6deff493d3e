{{
    config(
        materialized='view',
    )
}}

-- 预警事件 One row per episode of an alert (contract section 9): a run of
-- processed dates on which the same (rule, household, person) holds. A view
-- over the date-keyed marts alert_cases (its public view: the window and the
-- change history, issue 23) and low_income_population, so a
-- discarded (blocked) day leaves nothing behind here. The follow-up of an
-- episode is tracked while it holds: its state is the one in force on the
-- latest processed date while it still holds, or on the last date it held
-- once it has ended.

with

cases as (

    select * from {{ ref('alert_cases_all') }}

),

latest_processed_date as (

    select {{ latest_processed_date() }} as processed_date

),

cases_of_processed_dates as (

    select cases.*
    from cases
    inner join latest_processed_date
        on cases.as_of_date <= latest_processed_date.processed_date

),

held_dates as (

    select
        alert_id,
        max(as_of_date) as last_held_date,
        cast(count(*) as integer) as processed_dates_held

    from cases_of_processed_dates
    group by alert_id

),

latest_case as (

    select distinct on (alert_id) *
    from cases_of_processed_dates
    order by alert_id asc, as_of_date desc

),

-- ended unresolved: it no longer holds on the latest processed date and
-- its last state was neither DISMISSED nor RESOLVED
episode_outcome as (

    select
        latest_case.alert_id,
        latest_case.rule_code,
        latest_case.rule_name,
        latest_case.severity,
        latest_case.household_id,
        latest_case.person_key,
        latest_case.region_code,
        latest_case.episode_start,
        held_dates.last_held_date,
        held_dates.processed_dates_held,
        held_dates.last_held_date = latest_processed_date.processed_date as is_ongoing,
        latest_case.state,
        latest_case.state_date,
        latest_case.first_decision_date,
        latest_case.is_overdue,
        held_dates.last_held_date < latest_processed_date.processed_date
        and latest_case.state in ('OPEN', 'VERIFYING', 'CONFIRMED')
            as ended_unresolved

    from latest_case
    inner join held_dates
        on latest_case.alert_id = held_dates.alert_id
    cross join latest_processed_date

),

final as (

    select * from episode_outcome

)

select * from final
