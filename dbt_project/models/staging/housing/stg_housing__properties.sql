with

source as (

    select * from {{ source('housing', 'properties') }}

),

renamed as (

    select

        ----------  ids
        cert_no,
        -- raw keeps the HMAC's 32 bytes; analysts see its 64 lower-case hex digits
        encode(owner_person_key, 'hex') as owner_person_key,
        owner_id_number,
        batch_id as load_batch_id,

        ---------- text
        property_type,
        region_code,

        ---------- numerics
        cast(floor_area as numeric(12, 2)) as floor_area,

        ---------- dates
        extract_date,
        registered_date,
        cancelled_date

    from source

)

select * from renamed
