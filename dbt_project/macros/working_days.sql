{#
    Working-day arithmetic of contract section 9, over the calendar
    int_followup__working_days (seed `workdays` + the weekend rule). The
    only place deadlines are counted.

    add_working_days(day, workdays): "X + n working days", the n-th working
    day after X: X itself is not counted, so X + 1 is the first working day
    after X; X + 0 = X, even on a rest day. A make-up working day (a listed
    `workday`, e.g. a Saturday) counts, a listed `holiday` does not, any
    other Saturday or Sunday does not; past the calendar's last year only
    the weekend rule applies. `day` and `workdays` are SQL expressions (a
    date column, an integer expression); null when `day` is null.
    Two index look-ups per row: the number of working days up to X
    (working_days_through), then the working day numbered that + n.

    working_days_between(start, stop): working days in (start, stop], the
    n with start + n = stop when stop is a working day (0 when stop = start).
#}
{% macro add_working_days(day, workdays) -%}
    case
        when ({{ workdays }}) = 0 then {{ day }}
        else (
            select nth_working_day.calendar_date
            from {{ ref('int_followup__working_days') }} as nth_working_day
            where nth_working_day.is_working_day
                and nth_working_day.working_days_through = (
                    select start_day.working_days_through
                    from {{ ref('int_followup__working_days') }} as start_day
                    where start_day.calendar_date = {{ day }}
                ) + ({{ workdays }})
        )
    end
{%- endmacro %}

{% macro working_days_between(start, stop) -%}
    (
        (
            select stop_day.working_days_through
            from {{ ref('int_followup__working_days') }} as stop_day
            where stop_day.calendar_date = {{ stop }}
        ) - (
            select start_day.working_days_through
            from {{ ref('int_followup__working_days') }} as start_day
            where start_day.calendar_date = {{ start }}
        )
    )
{%- endmacro %}
