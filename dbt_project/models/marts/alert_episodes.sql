{{
    config(
        materialized='view',
    )
}}

-- 预警事件 One row per episode of an alert (contract section 9): a run of
-- processed dates on which the same (rule, household, person) holds. A view
-- over the date-keyed mart alert_cases (the rows of its public view up to the
-- latest processed date), so a discarded (blocked) day leaves nothing behind
-- here. The follow-up of an episode is tracked while it holds: its state is
-- the one in force on the latest processed date while it still holds, or on
-- the last date it held once it has ended.
--
-- Issue 23: the public view rebuilds every folded date from the versions;
-- here the folded part is counted from the versions directly. Dates held by
-- an alert = its dates in the window (`alert_cases__recent`) + per stable
-- version the number of folded dates in [valid_from, valid_to) (a numbered
-- calendar: folded dates before valid_to minus those before valid_from, two
-- equality joins). A folded date re-built in the window counts from the
-- window only (macro folded_dates). The latest case row is the window's
-- when the alert's last held date is there, else the stable columns of the
-- version holding that date (alert_cases has no volatile part).

{# the case columns an episode reports, read from the window's rows or the versions #}
{% set case_columns = [
    'rule_code', 'rule_name', 'severity', 'household_id', 'person_key', 'region_code',
    'episode_start', 'state', 'state_date', 'first_decision_date', 'is_overdue',
] %}

with

recent_cases as (

    select * from {{ ref('alert_cases') }}

),

-- read twice (the ranges, then the latest versions' columns): not
-- materialized, so neither read copies the versions
case_versions as not materialized (

    select * from {{ source('history', 'alert_cases__hist') }}

),

case_keys as (

    select * from {{ source('history', 'alert_cases__keys') }}

),

latest_processed_date as (

    select {{ latest_processed_date() }} as processed_date

),

-- the window's rows of processed dates
recent_cases_of_processed_dates as (

    select recent_cases.*
    from recent_cases
    inner join latest_processed_date
        on recent_cases.as_of_date <= latest_processed_date.processed_date

),

recent_held_dates as (

    select
        alert_id,
        max(as_of_date) as last_held_date,
        count(*) as processed_dates_held

    from recent_cases_of_processed_dates
    group by alert_id

),

recent_latest_case as (

    select distinct on (alert_id)
        as_of_date,
        alert_id,
        {{ case_columns | join(', ') }}

    from recent_cases_of_processed_dates
    order by alert_id asc, as_of_date desc

),

-- 已折叠日期 the folded dates the public view reads from the history, up to
-- the latest processed date, numbered 1, 2, ... in date order
folded_dates as (

    {{ folded_dates('alert_cases', ref('alert_cases'), 'as_of_date') }}

),

numbered_folded_dates as (

    select
        folded_dates.extract_date,
        row_number() over (order by folded_dates.extract_date) as date_number

    from folded_dates
    where folded_dates.extract_date <= (
            select latest_processed_date.processed_date from latest_processed_date
        )

),

folded_date_span as (

    select
        min(extract_date) as first_date,
        max(extract_date) as last_date,
        count(*) as date_count

    from numbered_folded_dates

),

-- every day from the first folded date to the day after the last (a
-- version bound is any such day), with the number of folded dates before it
span_days as (

    select cast(span_day.calendar_day as date) as bound_date

    from folded_date_span
    cross join lateral generate_series(
        folded_date_span.first_date,
        folded_date_span.last_date + 1,
        interval '1 day'
    ) as span_day (calendar_day)

),

bound_days as (

    select
        span_days.bound_date,
        count(numbered_folded_dates.extract_date) as folded_dates_before

    from span_days
    left join numbered_folded_dates
        on span_days.bound_date > numbered_folded_dates.extract_date
    group by span_days.bound_date

),

-- per version: the number of folded dates before valid_from and before
-- valid_to (a bound outside the span: none or all of them); its folded
-- dates are those in between
version_bounds as (

    select
        case_versions.key_id,
        coalesce(
            from_bound.folded_dates_before,
            case
                when case_versions.valid_from > folded_date_span.last_date
                    then folded_date_span.date_count
                else 0
            end
        ) as dates_before_from,
        coalesce(
            until_bound.folded_dates_before,
            case
                when case_versions.valid_to is null
                    or case_versions.valid_to > folded_date_span.last_date
                    then folded_date_span.date_count
                else 0
            end
        ) as dates_before_until

    from case_versions
    cross join folded_date_span
    left join bound_days as from_bound
        on case_versions.valid_from = from_bound.bound_date
    left join bound_days as until_bound
        on case_versions.valid_to = until_bound.bound_date

),

-- per alert (key): its folded dates, and the number of the last one (the
-- versions of a key do not overlap)
folded_held_numbers as (

    select
        key_id,
        sum(dates_before_until - dates_before_from) as processed_dates_held,
        max(dates_before_until) as last_date_number

    from version_bounds
    where dates_before_until > dates_before_from
    group by key_id

),

folded_held_dates as (

    select
        folded_held_numbers.key_id,
        case_keys.alert_id,
        numbered_folded_dates.extract_date as last_held_date,
        folded_held_numbers.processed_dates_held

    from folded_held_numbers
    inner join case_keys
        on folded_held_numbers.key_id = case_keys.key_id
    inner join numbered_folded_dates
        on folded_held_numbers.last_date_number = numbered_folded_dates.date_number

),

-- the case row of an alert's last folded date: the version holding it
folded_latest_case as (

    select
        folded_held_dates.last_held_date as as_of_date,
        folded_held_dates.alert_id,
        case_versions.{{ case_columns | join(', case_versions.') }}

    from folded_held_dates
    inner join case_versions
        on folded_held_dates.key_id = case_versions.key_id
        and folded_held_dates.last_held_date >= case_versions.valid_from
        and (
            case_versions.valid_to is null
            or folded_held_dates.last_held_date < case_versions.valid_to
        )

),

held_dates as (

    select
        coalesce(recent_held_dates.alert_id, folded_held_dates.alert_id) as alert_id,
        greatest(recent_held_dates.last_held_date, folded_held_dates.last_held_date)
            as last_held_date,
        cast(
            coalesce(recent_held_dates.processed_dates_held, 0)
            + coalesce(folded_held_dates.processed_dates_held, 0)
            as integer
        ) as processed_dates_held

    from recent_held_dates
    full outer join folded_held_dates
        on recent_held_dates.alert_id = folded_held_dates.alert_id

),

-- the case rows of the alerts' latest dates: the window's and the versions'
-- (disjoint dates: the one of the last held date is taken below, joining
-- held_dates once, so it is inlined and keeps its row estimate)
latest_case_rows as (

    select * from recent_latest_case

    union all

    select * from folded_latest_case

),

-- ended unresolved: it no longer holds on the latest processed date and
-- its last state was neither DISMISSED nor RESOLVED
episode_outcome as (

    select
        latest_case_rows.alert_id,
        latest_case_rows.rule_code,
        latest_case_rows.rule_name,
        latest_case_rows.severity,
        latest_case_rows.household_id,
        latest_case_rows.person_key,
        latest_case_rows.region_code,
        latest_case_rows.episode_start,
        held_dates.last_held_date,
        held_dates.processed_dates_held,
        held_dates.last_held_date = latest_processed_date.processed_date as is_ongoing,
        latest_case_rows.state,
        latest_case_rows.state_date,
        latest_case_rows.first_decision_date,
        latest_case_rows.is_overdue,
        held_dates.last_held_date < latest_processed_date.processed_date
        and latest_case_rows.state in ('OPEN', 'VERIFYING', 'CONFIRMED')
            as ended_unresolved

    from latest_case_rows
    inner join held_dates
        on latest_case_rows.alert_id = held_dates.alert_id
        and latest_case_rows.as_of_date = held_dates.last_held_date
    cross join latest_processed_date

),

final as (

    select * from episode_outcome

)

select * from final
