{#
    claims_evidence(households, members, claims): the select of a CTE with
    one row per household of `households` that has claims: household_id and
    `claims`, the jsonb evidence array of its members' claims (members living
    or not), one object per claim (claim_id, version, patient_masked_id,
    settlement_date, out_of_pocket), ordered by settlement_date, claim_id.
    The evidence of A04 (claims of OOP_365) and A06 (claims of OOP_30): the
    caller's `claims` CTE applies the window (settled_in_last_days). The
    arguments are CTE names of the calling model, which keeps its refs.
    A household without such claims has no row: the alert model writes
    coalesce(<cte>.claims, cast('[]' as jsonb)).
#}
{% macro claims_evidence(households, members='members', claims='latest_claim_versions') -%}
    select
        {{ members }}.household_id,
        jsonb_agg(
            jsonb_build_object(
                'claim_id', {{ claims }}.claim_id,
                'version', {{ claims }}.claim_version,
                'patient_masked_id', {{ members }}.masked_id,
                'settlement_date', {{ claims }}.settlement_date,
                'out_of_pocket', {{ claims }}.out_of_pocket
            )
            order by {{ claims }}.settlement_date, {{ claims }}.claim_id
        ) as claims

    from {{ households }}
    inner join {{ members }}
        on {{ households }}.household_id = {{ members }}.household_id
    inner join {{ claims }}
        on {{ members }}.person_key = {{ claims }}.person_key
    group by {{ members }}.household_id
{%- endmacro %}
