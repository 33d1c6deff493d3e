with

source as (

    select * from {{ source('health', 'medical_claims') }}

),

renamed as (

    select

        ----------  ids
        claim_id,
        version as claim_version,
        -- raw keeps the HMAC's 32 bytes; analysts see its 64 lower-case hex digits
        encode(person_key, 'hex') as person_key,
        id_number,
        hospital_code,
        batch_id as load_batch_id,

        ---------- text
        diagnosis_code,

        ---------- numerics
        cast(total_cost as numeric(14, 2)) as total_cost,
        cast(fund_paid as numeric(14, 2)) as fund_paid,
        cast(out_of_pocket as numeric(14, 2)) as out_of_pocket,

        ---------- dates
        extract_date,
        admission_date,
        settlement_date

    from source

)

select * from renamed
