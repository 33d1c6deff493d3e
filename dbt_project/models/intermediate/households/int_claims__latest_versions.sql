-- 医疗结算(最新版本) Medical claims as known on D: among the claim rows
-- received up to D (extract_date <= D), the highest version of each
-- claim_id (contract sections 2 and 5: the highest version received so far
-- wins; a correction keeps the claim's settlement_date).
--
-- Incremental: an in-order run folds in only the batches received after
-- the latest extract date the table holds; a re-run of a date already held
-- or a backfill of an earlier date rebuilds the table as of D (macro
-- claims_merged_up_to, the model's yml says why). Every settlement date is
-- kept, so the table never depends on the date of an earlier run; the
-- consumers apply the (D-365, D] and (D-30, D] windows.

{%- set merged_up_to = claims_merged_up_to() %}

{{
    config(
        materialized='incremental',
        unique_key='claim_id',
        incremental_strategy='merge',
        indexes=[
            {'columns': ['claim_id'], 'unique': true},
            {'columns': ['settlement_date']},
            {'columns': ['received_date']},
        ],
        pre_hook="{{ claims_rebuild_pre_hook() }}",
    )
}}

{% if merged_up_to is none -%}
-- rebuild as of D from every batch received up to D
{%- else -%}
-- merge of the batches received in ({{ merged_up_to }}, D]
{%- endif %}

with

claim_rows_received as (

    select * from {{ ref('stg_health__medical_claims') }}
    where extract_date <= {{ as_of_date() }}
    {%- if merged_up_to is not none %}
        and extract_date > cast('{{ merged_up_to }}' as date)
    {%- endif %}

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

    from claim_rows_received

),

highest_versions_received as (

    select
        claim_id,
        claim_version,
        person_key,
        settlement_date,
        out_of_pocket,
        received_date

    from ranked_claim_versions
    where version_rank = 1

),

{% if merged_up_to is none -%}

latest_claim_versions as (

    select * from highest_versions_received

)

{%- else -%}

claims_held_before_the_batches as (

    select * from {{ this }}

),

-- the highest version received so far wins: a claim of the new batches
-- replaces the held row unless the held version is higher (same version:
-- the later receipt wins, as in the ranking above)
latest_claim_versions as (

    select highest_versions_received.*

    from highest_versions_received
    left join claims_held_before_the_batches
        on highest_versions_received.claim_id = claims_held_before_the_batches.claim_id
    where claims_held_before_the_batches.claim_id is null
        or highest_versions_received.claim_version
            >= claims_held_before_the_batches.claim_version

)

{%- endif %}

select * from latest_claim_versions
