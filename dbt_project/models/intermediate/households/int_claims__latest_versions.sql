-- 医疗结算(最新版本) Medical claims as known on D, settled in the last 365
-- days: among the claim rows received up to D (extract_date <= D), the
-- highest version of each claim_id (contract sections 2 and 5).
--
-- The 365-day window (D-365, D] is applied before picking the version so
-- the older history is never ranked: the contract guarantees a correction
-- keeps the claim's settlement_date, so every version of a claim is in or
-- out of the window together.

with

claims_received_up_to_date as (

    select * from {{ ref('stg_health__medical_claims') }}
    where extract_date <= {{ as_of_date() }}
        and settlement_date > {{ as_of_date() }} - 365
        and settlement_date <= {{ as_of_date() }}

),

ranked_claim_versions as (

    select
        claim_id,
        claim_version,
        person_key,
        settlement_date,
        out_of_pocket,
        extract_date as received_date,
        row_number() over (
            partition by claim_id
            order by claim_version desc, extract_date desc
        ) as version_rank

    from claims_received_up_to_date

),

latest_claim_versions as (

    select
        claim_id,
        claim_version,
        person_key,
        settlement_date,
        out_of_pocket,
        received_date

    from ranked_claim_versions
    where version_rank = 1

)

select * from latest_claim_versions
