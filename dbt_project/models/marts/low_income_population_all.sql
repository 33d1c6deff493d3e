{{
    config(
        materialized='view',
        alias='low_income_population',
    )
}}

-- The public low_income_population (issue 23): the window (`low_income_population__recent`, whole
-- snapshots) and every folded date from the change history (its
-- `__history` view); a date re-built after it was folded comes from the
-- window (macro recent_and_history).

{{
    recent_and_history(
        ref('low_income_population'),
        source('history', 'low_income_population__history'),
        'as_of_date',
    )
}}
