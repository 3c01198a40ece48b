-- Room per routable (active, non-admin) partner: max_open_leads, open leads now (partner stats
-- MV) and free capacity = max(max_open_leads - open leads, 0), counted as segment_capacity
-- counts it (NULL max_open_leads, e.g. quarantined, and no MV row count 0).
with

profiles as (
    select * from {{ ref('stg_public__profiles') }}
),

partner_stats as (
    select * from {{ ref('stg_public__partner_performance_stats') }}
),

final as (
    select
        profiles.partner_id,
        coalesce(profiles.max_open_leads, 0) as max_open_leads,
        coalesce(partner_stats.open_leads_count, 0) as open_leads,
        greatest(
            coalesce(profiles.max_open_leads, 0) - coalesce(partner_stats.open_leads_count, 0), 0
        ) as free_capacity
    from profiles
    left join partner_stats on profiles.partner_id = partner_stats.partner_id
    where profiles.is_active_for_routing and not profiles.is_admin
)

select * from final
