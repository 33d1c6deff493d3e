-- 处置记录 The accepted casework decisions of every folder F <= D, per episode
-- in the order of contract section 9: decided_on, then the later folder,
-- then the later line (where the record starts). The last one is the
-- disposition in force on D (its status is the state, its decided_on the
-- state_date); the first one is the episode's first decision. Odd
-- transitions (RESOLVED without an earlier CONFIRMED; anything after
-- DISMISSED or RESOLVED) are flagged for a data-quality warning
-- (expectations/marts/alert_cases.yml); they still count.

with

checked_dispositions as (

    select * from {{ ref('int_casework__checked') }}

),

accepted_dispositions as (

    select *
    from checked_dispositions
    where rejection_reason is null

),

decisions_in_order as (

    select
        alert_id,
        extract_date,
        batch_id,
        line_no,
        status,
        decided_on,
        handler,
        row_number() over episode_decisions as decision_number,
        count(*) over (partition by alert_id) as decision_count,
        coalesce(
            bool_or(status = 'CONFIRMED') over earlier_decisions, false
        ) as was_confirmed_before,
        (
            array_agg(status) filter (where status in ('DISMISSED', 'RESOLVED'))
                over earlier_decisions
        )[1] as closed_before_by

    from accepted_dispositions
    window
        episode_decisions as (
            partition by alert_id
            order by decided_on, extract_date, line_no
        ),
        earlier_decisions as (
            partition by alert_id
            order by decided_on, extract_date, line_no
            rows between unbounded preceding and 1 preceding
        )

),

disposition_in_force as (

    select
        *,
        decision_number = decision_count as is_in_force,
        decision_number = 1 as is_first_decision

    from decisions_in_order

),

odd_transitions as (

    select
        *,
        case
            when closed_before_by is not null
                then status || ' after ' || closed_before_by
            when status = 'RESOLVED' and not was_confirmed_before
                then 'RESOLVED without an earlier CONFIRMED'
        end as odd_transition

    from disposition_in_force

),

final as (

    select
        alert_id,
        extract_date,
        batch_id,
        line_no,
        status,
        decided_on,
        handler,
        decision_number,
        is_first_decision,
        is_in_force,
        odd_transition

    from odd_transitions

)

select * from final
