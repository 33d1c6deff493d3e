-- 金融资产 FA(h): sum of balance (CNY) over all accounts in D's bank
-- snapshot of living members of h (contract section 5). A person who is a
-- member of two households counts in both. Households without accounts
-- have no row (FA = 0).

with

balances as (

    select * from {{ ref('stg_bank__balances') }}
    where extract_date = {{ as_of_date() }}

),

living_members as (

    select * from {{ ref('int_household_members') }}
    where is_living

),

accounts_of_living_members as (

    select
        living_members.household_id,
        balances.bank_code,
        balances.account_no,
        balances.balance_cny

    from living_members
    inner join balances
        on living_members.person_key = balances.person_key

),

financial_assets as (

    select
        household_id,
        sum(balance_cny) as financial_assets,
        count(*) as account_count

    from accounts_of_living_members
    group by household_id

)

select * from financial_assets
