{{
    config(
        pre_hook="{{ parallel_plans() }}",
    )
}}

-- (the pre-hook: this model runs alone on dbt_build's critical path, so its
-- joins of 2M households may take a parallel plan; issue 23)

-- 低收入人口类别 Every household of D's civil affairs snapshot with the
-- figures of contract section 5 and its low-income population category.
-- The one home of the rules' comparisons: is_enrolled, the PCI and APCI
-- tests against S and K_MARGINAL x S, the OOP_30 shock test and the asset
-- test are named columns here (CTE threshold_tests, asset_test); the
-- category below and the alert models A01-A06 use them by name.
--
-- Decisions compare exact numerics without dividing: for size > 0,
--   FA / size <= K_ASSETS x S          <=>  FA <= K_ASSETS x S x size
--   PCI <= K x S                       <=>  income <= K x S x size
--   APCI <= K x S                      <=>  12 x income - OOP_365 <= 12 x K x S x size
-- so no rounding of a quotient can move a household across a threshold.
-- The quotients (PCI, APCI, FA per head) are for display only, rounded to
-- 6 decimals: fine enough that a rounded value never lands on the other
-- side of a threshold (K x S has at most 4-5 decimals), short enough that
-- no long digit run appears (the marts gate rejects 18-digit runs in the
-- evidence as possible id numbers).
-- A household with no standard in force (S unknown) gets no asset test
-- result and so neither MARGINAL nor RIGID_EXPENSE.

with

households as (

    select * from {{ ref('stg_civil_affairs__households') }}
    where extract_date = {{ as_of_date() }}

),

dibao_standards as (

    select * from {{ ref('dibao_standards') }}

),

enrollment_status as (

    select * from {{ ref('int_households__enrollment_status') }}

),

financial_assets as (

    select * from {{ ref('int_households__financial_assets') }}

),

residential_properties as (

    select * from {{ ref('int_households__residential_properties') }}

),

out_of_pocket_windows as (

    select * from {{ ref('int_households__out_of_pocket') }}

),

-- size(h): members not deceased
household_size as (

    select * from {{ ref('int_households__size') }}

),

-- S(h): the DIBAO standard with the latest effective_date <= D for the
-- household's city and urban_rural
standard_in_force as (

    select
        city_code,
        urban_rural,
        effective_date as standard_effective_date,
        dibao_monthly as dibao_standard,
        tekun_monthly as tekun_standard

    from (
        select
            *,
            row_number() over (
                partition by city_code, urban_rural
                order by effective_date desc
            ) as recency_rank
        from dibao_standards
        where effective_date <= {{ as_of_date() }}
    ) as standards_up_to_date
    where recency_rank = 1

),

household_facts as (

    select
        {{ as_of_date() }} as as_of_date,
        households.household_id,
        households.region_code,
        households.city_code,
        households.urban_rural,
        households.head_person_key,
        households.assessed_monthly_income,
        households.income_assessed_date,
        cast(coalesce(household_size.member_count, 0) as integer) as member_count,
        cast(coalesce(household_size.deceased_member_count, 0) as integer)
            as deceased_member_count,
        cast(coalesce(household_size.household_size, 0) as integer) as household_size,
        standard_in_force.dibao_standard,
        standard_in_force.tekun_standard,
        standard_in_force.standard_effective_date,
        coalesce(enrollment_status.is_tekun, false) as is_tekun,
        coalesce(enrollment_status.is_dibao, false) as is_dibao,
        coalesce(enrollment_status.is_linshi, false) as is_linshi,
        coalesce(financial_assets.financial_assets, 0) as financial_assets,
        cast(coalesce(financial_assets.account_count, 0) as integer) as account_count,
        cast(coalesce(residential_properties.residential_properties, 0) as integer)
            as residential_properties,
        coalesce(out_of_pocket_windows.out_of_pocket_30, 0) as out_of_pocket_30,
        coalesce(out_of_pocket_windows.out_of_pocket_365, 0) as out_of_pocket_365

    from households
    left join household_size
        on households.household_id = household_size.household_id
    left join standard_in_force
        on households.city_code = standard_in_force.city_code
        and households.urban_rural = standard_in_force.urban_rural
    left join enrollment_status
        on households.household_id = enrollment_status.household_id
    left join financial_assets
        on households.household_id = financial_assets.household_id
    left join residential_properties
        on households.household_id = residential_properties.household_id
    left join out_of_pocket_windows
        on households.household_id = out_of_pocket_windows.household_id

),

-- PCI(h) = assessed_monthly_income / size(h),
-- APCI(h) = (assessed_monthly_income - OOP_365(h) / 12) / size(h), FA per
-- head: display values (the decisions below compare without dividing);
-- the limits K_ASSETS x S and K_SHOCK x S (evidence of A02, A03, A06)
derived_figures as (

    select
        *,
        round(assessed_monthly_income / nullif(household_size, 0), 6) as per_capita_income,
        round(financial_assets / nullif(household_size, 0), 6) as financial_assets_per_capita,
        -- = (12 x income - OOP_365) / (12 x size): one division, one rounding
        round(
            (12 * assessed_monthly_income - out_of_pocket_365) / nullif(12 * household_size, 0),
            6
        ) as adjusted_per_capita_income,
        {{ rule_parameter('k_assets') }} * dibao_standard as financial_assets_limit_per_capita,
        {{ rule_parameter('k_shock') }} * dibao_standard as medical_shock_threshold

    from household_facts

),

-- The comparisons of contract section 5, each written once (exact forms of
-- the header). Null when size is 0 (no PCI, APCI or asset test: such a
-- household is left out of every rule but A01) or when S is unknown.
threshold_tests as (

    select
        *,
        -- "not enrolled" = neither TEKUN nor DIBAO
        is_tekun or is_dibao as is_enrolled,
        -- PCI <= S
        case
            when household_size > 0 then
                assessed_monthly_income <= dibao_standard * household_size
        end as is_pci_within_standard,
        -- PCI <= K_MARGINAL x S
        case
            when household_size > 0 then
                assessed_monthly_income
                <= {{ rule_parameter('k_marginal') }} * dibao_standard * household_size
        end as is_pci_within_marginal_limit,
        -- APCI <= S
        case
            when household_size > 0 then
                12 * assessed_monthly_income - out_of_pocket_365
                <= 12 * dibao_standard * household_size
        end as is_apci_within_standard,
        -- APCI <= K_MARGINAL x S
        case
            when household_size > 0 then
                12 * assessed_monthly_income - out_of_pocket_365
                <= 12 * {{ rule_parameter('k_marginal') }} * dibao_standard * household_size
        end as is_apci_within_marginal_limit,
        -- OOP_30 >= K_SHOCK x S (A06)
        case
            when household_size > 0 then out_of_pocket_30 >= medical_shock_threshold
        end as has_medical_shock,
        -- FA / size <= K_ASSETS x S (asset test, first part)
        case
            when household_size > 0 then
                financial_assets <= financial_assets_limit_per_capita * household_size
        end as is_financial_assets_within_limit,
        -- RP <= 1 (asset test, second part)
        case
            when household_size > 0 then residential_properties <= 1
        end as is_residential_properties_within_limit

    from derived_figures

),

-- asset test: FA / size <= K_ASSETS x S and RP <= 1 (null when size is 0,
-- or when S is unknown and RP <= 1; always false when RP > 1)
asset_test as (

    select
        *,
        is_financial_assets_within_limit
        and is_residential_properties_within_limit as asset_test_passed

    from threshold_tests

),

-- category, first that applies: TEKUN; DIBAO; MARGINAL; RIGID_EXPENSE
-- (the list: var low_income_categories). Size 0 households have no category.
category as (

    select
        *,
        case
            when household_size = 0 then null
            when is_tekun then {{ low_income_category('TEKUN') }}
            when is_dibao then {{ low_income_category('DIBAO') }}
            when asset_test_passed and is_pci_within_marginal_limit
                then {{ low_income_category('MARGINAL') }}
            when asset_test_passed and not is_pci_within_marginal_limit
                and is_apci_within_marginal_limit
                then {{ low_income_category('RIGID_EXPENSE') }}
        end as category

    from asset_test

)

select * from category
