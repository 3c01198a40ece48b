-- The branches a routable partner serves: primary_branch and every lead_industries entry,
-- each resolved through int_branch_keys. One row per partner x branch.
with partners as (
    select * from {{ ref('stg_public__profiles') }}
    where is_active_for_routing and not is_admin
),

branch_keys as (
    select * from {{ ref('int_branch_keys') }}
),

spellings as (
    select
        partner_id,
        primary_branch_key as branch_key
    from partners

    union

    select
        partners.partner_id,
        {{ normalize_key('industry.name') }} as branch_key
    from partners
    cross join lateral unnest(partners.lead_industries) as industry (name)
),

final as (
    select distinct
        spellings.partner_id,
        branch_keys.branch
    from spellings
    inner join branch_keys on spellings.branch_key = branch_keys.branch_key
)

select * from final
