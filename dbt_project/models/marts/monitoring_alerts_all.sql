{{
    config(
        materialized='view',
        alias='monitoring_alerts',
    )
}}

-- The public monitoring_alerts (issue 23): the window (`monitoring_alerts__recent`, whole
-- snapshots) and every folded date from the change history (its
-- `__history` view); a date re-built after it was folded comes from the
-- window (macro recent_and_history).

{{
    recent_and_history(
        ref('monitoring_alerts'),
        source('history', 'monitoring_alerts__history'),
        'alert_date',
    )
}}
