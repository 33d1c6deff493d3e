-- 医疗结算(最新版本) Medical claims as known on D: among the claim rows
-- received up to D (extract_date <= D), the highest version of each
-- claim_id (contract sections 2 and 5: the highest version received so far
-- wins; a correction keeps the claim's settlement_date). Ties (the same
-- version received twice): the later extract date, then the later batch.
--
-- Incremental: a run merges every batch received up to D that the table
-- does not hold yet (D's, and a blocked day's increment); a re-run of an
-- earlier date, or a date whose held batch was replaced, rebuilds the
-- table as of D (macro claims_batches_to_merge, the model's yml says why).
-- Every settlement date is kept, so the table never depends on the date
-- of an earlier run; the consumers apply the (D-365, D] and (D-30, D]
-- windows.

{%- set batches_to_merge = claims_batches_to_merge() %}

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
        on_schema_change='append_new_columns',
    )
}}

{% if batches_to_merge is none -%}
-- rebuild as of D from every batch received up to D
{%- else -%}
-- merge of the batches not merged yet:
-- {{ batches_to_merge | map('join', '/') | join(', ') or 'none' }}
{%- endif %}

with

claim_rows_received as (

    select * from {{ ref('stg_health__medical_claims') }}
    where
        extract_date <= {{ as_of_date() }}
        -- noqa: disable=LT02
        {% if batches_to_merge is not none and batches_to_merge | length == 0 -%}
            and false
        {% elif batches_to_merge is not none -%}
            -- the dates prune the raw partitions, the batch ids pick their content
            and extract_date in (
                {%- for batch in batches_to_merge %}cast('{{ batch[0] }}' as date){{ ', ' if not loop.last }}{% endfor -%}
            )
            and load_batch_id in (
                {%- for batch in batches_to_merge %}{{ batch[1] | int }}{{ ', ' if not loop.last }}{% endfor -%}
            )
        {% endif %}

),
-- noqa: enable=LT02

ranked_claim_versions as (

    select
        claim_id,
        claim_version,
        person_key,
        settlement_date,
        out_of_pocket,
        extract_date as received_date,
        load_batch_id as received_batch_id,
        row_number() over (
            partition by claim_id
            order by claim_version desc, extract_date desc, load_batch_id desc
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
        received_date,
        received_batch_id

    from ranked_claim_versions
    where version_rank = 1

),

{% if batches_to_merge is none -%}

    latest_claim_versions as (

        select * from highest_versions_received

    )

{%- else -%}

    claims_held_before_the_batches as (

        select * from {{ this }}

    ),

    -- the highest version received so far wins: a claim of the merged batches
    -- replaces the held row when it comes later in the ranking's order above
    -- (version, then extract date, then batch), so merging is a max and a
    -- batch merged twice changes nothing
    latest_claim_versions as (

        select highest_versions_received.*

        from highest_versions_received
        left join claims_held_before_the_batches
            on highest_versions_received.claim_id = claims_held_before_the_batches.claim_id
        where claims_held_before_the_batches.claim_id is null
            or (
                highest_versions_received.claim_version,
                highest_versions_received.received_date,
                highest_versions_received.received_batch_id
            ) > (
                claims_held_before_the_batches.claim_version,
                claims_held_before_the_batches.received_date,
                claims_held_before_the_batches.received_batch_id
            )

    )

{%- endif %}

select * from latest_claim_versions
