with

source as (

    select * from {{ source('civil_affairs', 'persons') }}

),

renamed as (

    select

        ----------  ids
        household_id,
        -- raw keeps the HMAC's 32 bytes; analysts see its 64 lower-case hex digits
        encode(person_key, 'hex') as person_key,
        id_number,
        {{ mask_id_number('id_number') }} as masked_id,
        batch_id as load_batch_id,

        ---------- text
        name,
        {{ mask_name('name') }} as masked_name,
        gender,
        relation,

        ---------- numerics
        disability_grade,

        ---------- dates
        extract_date,
        birth_date

    from source

)

select * from renamed
