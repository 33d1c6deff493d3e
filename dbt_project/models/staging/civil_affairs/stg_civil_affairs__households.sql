with

source as (

    select * from {{ source('civil_affairs', 'households') }}

),

renamed as (

    select

        ----------  ids
        household_id,
        -- raw keeps the HMAC's 32 bytes; analysts see its 64 lower-case hex digits
        encode(head_person_key, 'hex') as head_person_key,
        head_id_number,
        batch_id as load_batch_id,

        ---------- text
        region_code,
        left(region_code, 4) || '00' as city_code,
        urban_rural,
        address,

        ---------- numerics
        cast(assessed_monthly_income as numeric(14, 2)) as assessed_monthly_income,

        ---------- dates
        extract_date,
        income_assessed_date

    from source

)

select * from renamed
