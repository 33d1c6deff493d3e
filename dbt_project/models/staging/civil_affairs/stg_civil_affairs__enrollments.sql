with

source as (

    select * from {{ source('civil_affairs', 'enrollments') }}

),

renamed as (

    select

        ----------  ids
        enrollment_id,
        household_id,
        batch_id as load_batch_id,

        ---------- text
        program,
        status,

        ---------- numerics
        cast(monthly_amount as numeric(14, 2)) as monthly_amount,

        ---------- dates
        extract_date,
        start_date,
        end_date

    from source

)

select * from renamed
