{#
    Processed dates (contract section 5, v2): a date is processed when its
    run passed the gate, i.e. its marts exist. Here (issue 23): the dates
    for which low_income_population has rows in the window (its `__recent`
    table) or folded into the change history (a calendar row of
    `audit.history_days`, table low_income_population). A blocked day's
    rows and calendar rows are removed by the DAG's discard_day, a skipped
    day never had any. A processed date without a single categorised
    household would not count; no real roster has one.

    latest_processed_date_before(day): a scalar SQL expression, the latest
    processed date < day (null when there is none: `day` is the first
    processed date). Two backward index scans (the recent table is indexed
    on as_of_date, the calendar's primary key is (table_name,
    extract_date)). is_new and the episodes of monitoring_alerts and
    is_newly_overdue of alert_cases compare with it, not with D - 1.
    latest_processed_date(): the latest processed date of all.
#}
{% macro latest_processed_date_before(day) -%}
    greatest(
        (
            select max(processed.as_of_date)
            from {{ ref('low_income_population') }} as processed
            where processed.as_of_date < {{ day }}
        ),
        (
            select max(folded.extract_date)
            from {{ source('history_calendar', 'history_days') }} as folded
            where folded.table_name = 'low_income_population'
                and folded.extract_date < {{ day }}
        )
    )
{%- endmacro %}

{% macro latest_processed_date() -%}
    greatest(
        (
            select max(processed.as_of_date)
            from {{ ref('low_income_population') }} as processed
        ),
        (
            select max(folded.extract_date)
            from {{ source('history_calendar', 'history_days') }} as folded
            where folded.table_name = 'low_income_population'
        )
    )
{%- endmacro %}

{#
    alert_id of an episode (contract section 9): the first 32 characters of
    the lower-case hex SHA-256 of the UTF-8 text
    `rule_code|household_id|person_key|episode_start` (person_key empty for
    household rules, episode_start as YYYY-MM-DD).
#}
{% macro episode_alert_id(rule_code, household_id, person_key, episode_start) -%}
    left(
        encode(
            sha256(
                convert_to(
                    {{ rule_code }} || '|' || {{ household_id }} || '|'
                    || coalesce({{ person_key }}, '') || '|'
                    || to_char({{ episode_start }}, 'YYYY-MM-DD'),
                    'UTF8'
                )
            ),
            'hex'
        ),
        32
    )
{%- endmacro %}
