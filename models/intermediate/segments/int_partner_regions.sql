-- The regions a routable partner covers: every regions and lead_locations entry resolved
-- through int_region_keys. One row per partner x region_code.
with partners as (
    select * from {{ ref('stg_public__profiles') }}
    where is_active_for_routing and not is_admin
),

region_keys as (
    select * from {{ ref('int_region_keys') }}
),

spellings as (
    select
        partners.partner_id,
        {{ normalize_key('region.name') }} as region_key
    from partners
    cross join lateral unnest(partners.regions) as region (name)

    union

    select
        partners.partner_id,
        {{ normalize_key('lead_location.name') }} as region_key
    from partners
    cross join lateral unnest(partners.lead_locations) as lead_location (name)
),

final as (
    select distinct
        spellings.partner_id,
        region_keys.region_code
    from spellings
    inner join region_keys on spellings.region_key = region_keys.region_key
)

select * from final
