-- 处置结果受理 Casework acceptance (contract section 9): every row of every
-- casework folder F <= D, with the reason it is rejected (null when
-- accepted). F is the folder's date (extract_date); a folder counts for
-- every D >= F, also when F's own run was blocked. A row is rejected when
-- its alert_id is not 32 lower-case hex characters, is no known episode, or
-- names an episode that did not start before F; or when decided_on is
-- after F or before the episode's start. Every failing reason is given,
-- joined by '; ' (as the loader does). The judgement of a row depends only
-- on F and the episodes started before F, so it is the same on every later
-- D: a rejection is final. (Status and the date format were checked by the
-- loader; exact repeats within a file were rejected there.)
--
-- The loader copies the rows of folder D with a reason into
-- audit.rejected_rows after dbt_build: keep the column names.

with

dispositions as (

    select * from {{ ref('stg_casework__dispositions') }}
    where extract_date <= {{ as_of_date() }}

),

-- the alert_id as judged: surrounding blanks dropped (a spreadsheet's pad)
trimmed_dispositions as (

    select
        *,
        btrim(alert_id, E' \t\r\n') as judged_alert_id

    from dispositions

),

-- episodes known on D: the first row of each episode in monitoring_alerts
-- (alert_date = episode_start), processed dates and D only; from the window
-- and the versions: an episode's first row may be folded (issue 23)
episode_starts as (

    select
        alert_id,
        min(episode_start) as episode_start

    from {{ ref('int_followup__episode_starts') }}
    where episode_start <= {{ as_of_date() }}
        and alert_id in (select trimmed_dispositions.judged_alert_id from trimmed_dispositions)
    group by alert_id

),

dispositions_with_episode as (

    select
        trimmed_dispositions.*,
        episode_starts.episode_start

    from trimmed_dispositions
    left join episode_starts
        on trimmed_dispositions.judged_alert_id = episode_starts.alert_id

),

-- an id number typed into alert_id is masked in the reason (section 6: a
-- run of 15 to 18 digits shows its first 6 and last 4 around ********)
alert_id_check as (

    select
        *,
        case
            when judged_alert_id !~ '^[0-9a-f]{32}$'
                then 'alert_id: malformed '''
                    || regexp_replace(
                        judged_alert_id,
                        '(?<![0-9])([0-9]{6})[0-9]{5,8}([0-9]{3}[0-9Xx])(?![0-9Xx])',
                        '\1********\2',
                        'g'
                    )
                    || ''''
            when episode_start is null
                then 'alert_id: unknown ' || judged_alert_id
            when episode_start >= extract_date
                then 'alert_id: episode starts ' || to_char(episode_start, 'YYYY-MM-DD')
                    || ', not before ' || to_char(extract_date, 'YYYY-MM-DD')
        end as alert_id_problem

    from dispositions_with_episode

),

decided_on_check as (

    select
        *,
        case
            when decided_on > extract_date
                then 'decided_on: ' || to_char(decided_on, 'YYYY-MM-DD')
                    || ' after the folder date ' || to_char(extract_date, 'YYYY-MM-DD')
            when decided_on < episode_start
                then 'decided_on: ' || to_char(decided_on, 'YYYY-MM-DD')
                    || ' before the episode start ' || to_char(episode_start, 'YYYY-MM-DD')
        end as decided_on_problem

    from alert_id_check

),

final as (

    select
        extract_date,
        load_batch_id as batch_id,
        line_no,
        judged_alert_id as alert_id,
        status,
        decided_on,
        handler,
        note,
        nullif(concat_ws('; ', alert_id_problem, decided_on_problem), '') as rejection_reason

    from decided_on_check

)

select * from final
