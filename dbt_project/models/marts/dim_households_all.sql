{{
    config(
        materialized='view',
        alias='dim_households',
    )
}}

-- The public dim_households (issue 23): the window (`dim_households__recent`, whole
-- snapshots) and every folded date from the change history (its
-- `__history` view); a date re-built after it was folded comes from the
-- window (macro recent_and_history).

{{
    recent_and_history(
        ref('dim_households'),
        source('history', 'dim_households__history'),
        'as_of_date',
    )
}}
