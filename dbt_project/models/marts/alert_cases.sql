{{
    config(
        alias='alert_cases__recent',
        pre_hook="{{ delete_rows_of_date('as_of_date') }}",
    )
}}

-- depends_on: {{ ref('low_income_population') }}

-- 预警核查跟踪 Follow-up state of every alert holding on D (contract
-- section 9): the state from the disposition in force (casework folders
-- <= D only), the verification and resolution deadlines in working days,
-- overdue, and newly overdue against the latest processed date before D.

with

alerts_holding as (

    select * from {{ ref('monitoring_alerts') }}
    where alert_date = {{ as_of_date() }}

),

decisions as (

    select * from {{ ref('int_casework__decisions') }}

),

-- state on D: the status of the disposition in force (latest decided_on,
-- then later folder, then later line), OPEN when there is none
disposition_in_force as (

    select
        alert_id,
        status,
        decided_on

    from decisions
    where is_in_force

),

first_decision as (

    select
        alert_id,
        decided_on as first_decision_date

    from decisions
    where is_first_decision

),

state_on_d as (

    select
        alerts_holding.alert_date as as_of_date,
        alerts_holding.alert_id,
        alerts_holding.rule_code,
        alerts_holding.rule_name,
        alerts_holding.severity,
        alerts_holding.household_id,
        alerts_holding.person_key,
        alerts_holding.region_code,
        alerts_holding.episode_start,
        coalesce(disposition_in_force.status, 'OPEN') as state,
        disposition_in_force.decided_on as state_date,
        first_decision.first_decision_date

    from alerts_holding
    left join disposition_in_force
        on alerts_holding.alert_id = disposition_in_force.alert_id
    left join first_decision
        on alerts_holding.alert_id = first_decision.alert_id

),

-- verify_due = episode_start + V working days (V by severity);
-- resolve_due = decided_on of the CONFIRMED row in force + R, only while
-- the state is CONFIRMED (macros followup_deadlines, working_days)
deadlines as (

    select
        *,
        {{ add_working_days('episode_start', verify_workdays('severity')) }} as verify_due,
        case
            when state = 'CONFIRMED'
                then {{ add_working_days('state_date', resolve_workdays()) }}
        end as resolve_due

    from state_on_d

),

-- overdue on D: OPEN or VERIFYING past verify_due, or CONFIRMED past
-- resolve_due; DISMISSED and RESOLVED never
overdue as (

    select
        *,
        case when state = 'CONFIRMED' then resolve_due else verify_due end as due_date,
        coalesce(
            (state in ('OPEN', 'VERIFYING') and {{ as_of_date() }} > verify_due)
            or (state = 'CONFIRMED' and {{ as_of_date() }} > resolve_due),
            false
        ) as is_overdue

    from deadlines

),

-- the cases of the latest processed date before D (none on the first one),
-- from the public view: it may be folded (macro full_history, issue 23)
cases_of_the_latest_processed_date as (

    {% if is_incremental() %}
        select
            alert_id,
            is_overdue

        from {{ full_history(this) }}
        where as_of_date = {{ latest_processed_date_before(as_of_date()) }}
    {% else %}
        select
            cast(null as text) as alert_id,
            cast(null as boolean) as is_overdue
        where false
    {% endif %}

),

-- newly overdue on D: overdue on D and not on the latest processed date
-- before D (not holding there counts as not overdue; on the first
-- processed date every overdue alert is newly overdue)
newly_overdue as (

    select
        overdue.*,
        overdue.is_overdue
        and not coalesce(cases_of_the_latest_processed_date.is_overdue, false)
            as is_newly_overdue

    from overdue
    left join cases_of_the_latest_processed_date
        on overdue.alert_id = cases_of_the_latest_processed_date.alert_id

),

final as (

    select
        as_of_date,
        alert_id,
        rule_code,
        rule_name,
        severity,
        household_id,
        person_key,
        region_code,
        episode_start,
        state,
        state_date,
        verify_due,
        resolve_due,
        due_date,
        is_overdue,
        is_newly_overdue,
        first_decision_date

    from newly_overdue

)

select * from final
