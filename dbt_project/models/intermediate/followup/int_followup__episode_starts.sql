{{
    config(
        materialized='view',
    )
}}

-- 预警事件起始 Every episode start of monitoring_alerts (contract section 9):
-- the rows of the public view marts.monitoring_alerts with alert_date =
-- episode_start, all dates (callers keep episode_start <= D). Read from the
-- window (`monitoring_alerts__recent`) and from the versions directly
-- (issue 23): a folded episode start is a stable version whose range
-- [valid_from, valid_to) contains the folded date episode_start, an
-- equality join to the calendar, so no folded date is rebuilt. A folded
-- date re-built in the window comes from the window only (macro
-- folded_dates), as in the public view. The volatile part (`__histv`) is
-- not read: every column used is stable, and a fold is verified (count and
-- md5 of the date's rows through the view), so a stable version in force on
-- a folded date is a row of the public view on that date.

with

recent_alerts as (

    select * from {{ ref('monitoring_alerts') }}

),

alert_versions as (

    select * from {{ source('history', 'monitoring_alerts__hist') }}

),

folded_dates as (

    {{ folded_dates('monitoring_alerts', ref('monitoring_alerts'), 'alert_date') }}

),

recent_episode_starts as (

    select
        alert_id,
        rule_code,
        region_code,
        episode_start

    from recent_alerts
    where alert_date = episode_start

),

-- the version in force on its own episode start, on a folded date
folded_episode_starts as (

    select
        alert_versions.alert_id,
        alert_versions.rule_code,
        alert_versions.region_code,
        alert_versions.episode_start

    from alert_versions
    inner join folded_dates
        on alert_versions.episode_start = folded_dates.extract_date
    where alert_versions.valid_from <= alert_versions.episode_start
        and (
            alert_versions.valid_to is null
            or alert_versions.valid_to > alert_versions.episode_start
        )

),

episode_starts as (

    select * from recent_episode_starts
    union all
    select * from folded_episode_starts

),

final as (

    select * from episode_starts

)

select * from final
