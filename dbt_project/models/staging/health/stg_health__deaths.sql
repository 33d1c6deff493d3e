with

source as (

    select * from {{ source('health', 'deaths') }}

),

renamed as (

    select

        ----------  ids
        -- raw keeps the HMAC's 32 bytes; analysts see its 64 lower-case hex digits
        encode(person_key, 'hex') as person_key,
        id_number,
        batch_id as load_batch_id,

        ---------- dates
        extract_date,
        death_date,
        registered_date as death_registered_date

    from source

)

select * from renamed
