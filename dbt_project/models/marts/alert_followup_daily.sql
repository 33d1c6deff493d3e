{{
    config(
        pre_hook="{{ delete_rows_of_date('as_of_date') }}",
    )
}}

-- 预警核查日汇总 Follow-up of the alerts per county and rule on D (contract
-- section 9): alerts holding and their states, overdue and newly overdue
-- (from alert_cases of D); how fast the street offices decide (median
-- working days from episode start to the first accepted decision, over
-- the episodes whose first decision fell in (D - 30, D]); and how often
-- the alerts were right (field precision over the episodes started in
-- (D - 90, D], by their state in force on D). One row per (county, rule)
-- that has any of these.

with

cases as (

    select * from {{ ref('alert_cases') }}
    where as_of_date = {{ as_of_date() }}

),

decisions as (

    select * from {{ ref('int_casework__decisions') }}

),

-- every episode started up to D, with its county and rule (its first row;
-- from the window and the versions, issue 23: no folded date is rebuilt)
episode_starts as (

    select
        alert_id,
        rule_code,
        region_code,
        episode_start

    from {{ ref('int_followup__episode_starts') }}
    where episode_start <= {{ as_of_date() }}

),

cases_per_region_and_rule as (

    select
        region_code,
        rule_code,
        cast(count(*) as integer) as alerts_holding,
        cast(count(*) filter (where state = 'OPEN') as integer) as open_alerts,
        cast(count(*) filter (where state = 'VERIFYING') as integer) as verifying_alerts,
        cast(count(*) filter (where state = 'CONFIRMED') as integer) as confirmed_alerts,
        cast(count(*) filter (where state = 'DISMISSED') as integer) as dismissed_alerts,
        cast(count(*) filter (where state = 'RESOLVED') as integer) as resolved_alerts,
        cast(count(*) filter (where is_overdue) as integer) as overdue_alerts,
        cast(count(*) filter (where is_newly_overdue) as integer) as newly_overdue_alerts

    from cases
    group by region_code, rule_code

),

-- time to first decision: working days from episode_start to the first
-- accepted decision, for episodes whose first decision fell in (D - 30, D]
first_decisions_in_last_30_days as (

    select
        episode_starts.region_code,
        episode_starts.rule_code,
        {{ working_days_between('episode_starts.episode_start', 'decisions.decided_on') }}
            as working_days_to_first_decision

    from decisions
    inner join episode_starts
        on decisions.alert_id = episode_starts.alert_id
    where decisions.is_first_decision
        and decisions.decided_on > {{ as_of_date() }} - 30
        and decisions.decided_on <= {{ as_of_date() }}

),

time_to_first_decision as (

    select
        region_code,
        rule_code,
        cast(count(*) as integer) as first_decisions_30d,
        cast(
            percentile_cont(0.5) within group (order by working_days_to_first_decision)
            as numeric(10, 1)
        ) as median_workdays_to_first_decision

    from first_decisions_in_last_30_days
    group by region_code, rule_code

),

-- field precision: among the episodes started in (D - 90, D], by their
-- state in force on D, (CONFIRMED + RESOLVED) / (CONFIRMED + RESOLVED +
-- DISMISSED); null while none of them is decided either way
episodes_started_in_last_90_days as (

    select
        episode_starts.region_code,
        episode_starts.rule_code,
        coalesce(decisions.status, 'OPEN') as state

    from episode_starts
    left join decisions
        on episode_starts.alert_id = decisions.alert_id
        and decisions.is_in_force
    where episode_starts.episode_start > {{ as_of_date() }} - 90

),

field_precision as (

    select
        region_code,
        rule_code,
        cast(count(*) as integer) as episodes_started_90d,
        cast(count(*) filter (where state in ('CONFIRMED', 'RESOLVED')) as integer)
            as confirmed_or_resolved_90d,
        cast(count(*) filter (where state = 'DISMISSED') as integer) as dismissed_90d

    from episodes_started_in_last_90_days
    group by region_code, rule_code

),

regions_and_rules as (

    select
        region_code,
        rule_code
    from cases_per_region_and_rule
    union
    select
        region_code,
        rule_code
    from time_to_first_decision
    union
    select
        region_code,
        rule_code
    from field_precision

),

summary as (

    select
        {{ as_of_date() }} as as_of_date,
        regions_and_rules.region_code,
        regions_and_rules.rule_code,
        coalesce(cases_per_region_and_rule.alerts_holding, 0) as alerts_holding,
        coalesce(cases_per_region_and_rule.open_alerts, 0) as open_alerts,
        coalesce(cases_per_region_and_rule.verifying_alerts, 0) as verifying_alerts,
        coalesce(cases_per_region_and_rule.confirmed_alerts, 0) as confirmed_alerts,
        coalesce(cases_per_region_and_rule.dismissed_alerts, 0) as dismissed_alerts,
        coalesce(cases_per_region_and_rule.resolved_alerts, 0) as resolved_alerts,
        coalesce(cases_per_region_and_rule.overdue_alerts, 0) as overdue_alerts,
        coalesce(cases_per_region_and_rule.newly_overdue_alerts, 0) as newly_overdue_alerts,
        coalesce(time_to_first_decision.first_decisions_30d, 0) as first_decisions_30d,
        time_to_first_decision.median_workdays_to_first_decision,
        coalesce(field_precision.episodes_started_90d, 0) as episodes_started_90d,
        coalesce(field_precision.confirmed_or_resolved_90d, 0) as confirmed_or_resolved_90d,
        coalesce(field_precision.dismissed_90d, 0) as dismissed_90d,
        cast(
            cast(field_precision.confirmed_or_resolved_90d as numeric)
            / nullif(field_precision.confirmed_or_resolved_90d + field_precision.dismissed_90d, 0)
            as numeric(5, 4)
        ) as field_precision_90d

    from regions_and_rules
    left join cases_per_region_and_rule
        on regions_and_rules.region_code = cases_per_region_and_rule.region_code
        and regions_and_rules.rule_code = cases_per_region_and_rule.rule_code
    left join time_to_first_decision
        on regions_and_rules.region_code = time_to_first_decision.region_code
        and regions_and_rules.rule_code = time_to_first_decision.rule_code
    left join field_precision
        on regions_and_rules.region_code = field_precision.region_code
        and regions_and_rules.rule_code = field_precision.rule_code

),

final as (

    select * from summary

)

select * from final
