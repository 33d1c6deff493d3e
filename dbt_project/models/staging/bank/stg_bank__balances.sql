with

source as (

    select * from {{ source('bank', 'balances') }}

),

renamed as (

    select

        ----------  ids
        bank_code,
        account_no,
        -- raw keeps the HMAC's 32 bytes; analysts see its 64 lower-case hex digits
        encode(person_key, 'hex') as person_key,
        id_number,
        batch_id as load_batch_id,

        ---------- text
        account_type,

        ---------- numerics
        balance_fen,
        -- fen -> CNY in exact numeric (never float); fen / 100 has at most
        -- 2 decimals, so numeric(20, 2) holds it without rounding
        cast(balance_fen / 100.0 as numeric(20, 2)) as balance_cny,

        ---------- dates
        extract_date,
        as_of_date as balance_as_of_date

    from source

)

select * from renamed
