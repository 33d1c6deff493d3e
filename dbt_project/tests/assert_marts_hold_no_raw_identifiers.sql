-- Analyst-facing marts never hold a raw id number, a full name or an
-- address (contract section 3): no such column in schema marts, masked ids
-- have the masked shape, and no alert evidence of D contains an
-- 18-character id number.

with

restricted_columns as (

    select table_name || '.' || column_name as finding
    from information_schema.columns
    where table_schema = '{{ ref("low_income_population").schema }}'
        and column_name in (
            'id_number', 'name', 'address', 'head_id_number', 'owner_id_number'
        )

),

unmasked_ids as (

    select 'low_income_population.masked_id of ' || household_id as finding
    from {{ ref('low_income_population') }}
    where as_of_date = {{ as_of_date() }}
        and (char_length(masked_id) <> 18 or substr(masked_id, 7, 8) <> '********')

),

ids_in_evidence as (

    select 'monitoring_alerts.evidence of ' || alert_key as finding
    from {{ ref('monitoring_alerts') }}
    where alert_date = {{ as_of_date() }}
        -- anything shaped like an id number (same pattern as the marts gate
        -- in expectations/marts/monitoring_alerts.yml)
        and cast(evidence as text) ~ '[0-9]{17}[0-9Xx]'

)

select * from restricted_columns
union all
select * from unmasked_ids
union all
select * from ids_in_evidence
