-- 救助待遇状态 Programmes each household is enrolled in on D.
-- active enrollment: status `active`, start_date <= D, end_date empty or
-- >= D (contract section 5). h is DIBAO if it has an active DIBAO
-- enrollment, TEKUN likewise. One row per household with any active
-- enrollment in D's snapshot.

with

enrollments as (

    select * from {{ ref('stg_civil_affairs__enrollments') }}
    where extract_date = {{ as_of_date() }}

),

active_enrollments as (

    select *
    from enrollments
    where status = 'active'
        and start_date <= {{ as_of_date() }}
        and (end_date is null or end_date >= {{ as_of_date() }})

),

programs_per_household as (

    select
        household_id,
        bool_or(program = 'TEKUN') as is_tekun,
        bool_or(program = 'DIBAO') as is_dibao,
        bool_or(program = 'LINSHI') as is_linshi,
        coalesce(
            jsonb_agg(enrollment_id order by enrollment_id)
            filter (where program in ('DIBAO', 'TEKUN')),
            cast('[]' as jsonb)
        ) as dibao_tekun_enrollment_ids

    from active_enrollments
    group by household_id

)

select * from programs_per_household
