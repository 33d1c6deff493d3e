{{
    config(
        indexes=[
            {'columns': ['calendar_date'], 'unique': true},
            {'columns': ['working_days_through', 'is_working_day']},
        ],
    )
}}

-- 工作日历 Working-day calendar of contract section 9, one row per date:
-- a listed `holiday` is a rest day, a listed `workday` (调休, e.g. a
-- make-up Saturday) a working day, any other Saturday or Sunday a rest day,
-- any other weekday a working day. Dates past the seed's last year follow
-- the weekend rule alone. Read through the macros add_working_days and
-- working_days_between (macros/working_days.sql), never directly.
--
-- Range: from 2000-01-01 (or an earlier listed date or D) to far enough
-- after D for the longest deadline counted from D: twice the largest of
-- V_HIGH, V_MEDIUM, R in calendar days plus a year of holidays.

with

workdays as (

    select * from {{ ref('workdays') }}

),

calendar_range as (

    select
        least(date '2000-01-01', min(date), {{ as_of_date() }}) as first_date,
        greatest(max(date), {{ as_of_date() }})
        + {{ 2 * followup_max_workdays() + 366 }} as last_date,
        cast(max(extract(year from date)) as integer) as last_calendar_year

    from workdays

),

calendar_dates as (

    select
        cast(calendar_day as date) as calendar_date,
        last_calendar_year

    from calendar_range
    cross join generate_series(first_date, last_date, interval '1 day') as calendar_day

),

-- a listed date's kind wins; any other Saturday or Sunday is a rest day
working_day_rule as (

    select
        calendar_dates.calendar_date,
        workdays.kind as listed_kind,
        workdays.note as listed_note,
        coalesce(
            workdays.kind = 'workday',
            extract(isodow from calendar_dates.calendar_date) < 6
        ) as is_working_day,
        extract(year from calendar_dates.calendar_date) <= calendar_dates.last_calendar_year
            as is_within_calendar,
        calendar_dates.last_calendar_year

    from calendar_dates
    left join workdays
        on calendar_dates.calendar_date = workdays.date

),

-- working days up to and including the date: X + n is the working day
-- numbered working_days_through(X) + n
numbered_working_days as (

    select
        *,
        cast(
            count(*) filter (where is_working_day) over (order by calendar_date)
            as integer
        ) as working_days_through

    from working_day_rule

)

select * from numbered_working_days
