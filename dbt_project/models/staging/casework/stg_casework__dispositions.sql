with

source as (

    select * from {{ source('casework', 'dispositions') }}

),

renamed as (

    select

        ----------  ids
        batch_id as load_batch_id,
        line_no,
        alert_id,

        ---------- text
        status,
        handler,
        note,

        ---------- dates
        extract_date,
        decided_on

    from source

)

select * from renamed
