{{
    config(
        materialized='view',
        alias='alert_cases',
    )
}}

-- The public alert_cases (issue 23): the window (`alert_cases__recent`, whole
-- snapshots) and every folded date from the change history (its
-- `__history` view); a date re-built after it was folded comes from the
-- window (macro recent_and_history).

{{
    recent_and_history(
        ref('alert_cases'),
        source('history', 'alert_cases__history'),
        'as_of_date',
    )
}}
