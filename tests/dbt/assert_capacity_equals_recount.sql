-- segment_capacity equals a recount from the partner matches, each partner once.
with capacity as (
    select * from {{ ref('segment_capacity') }}
),

matches as (
    select * from {{ ref('partner_segment_matches') }}
),

profiles as (
    select * from {{ ref('stg_public__profiles') }}
),

partner_stats as (
    select * from {{ ref('stg_public__partner_performance_stats') }}
),

recount as (
    select
        matches.segment_id,
        count(distinct matches.partner_id) as capacity_partners,
        sum(coalesce(profiles.max_open_leads, 0)) as capacity_total_leads,
        sum(
            greatest(coalesce(profiles.max_open_leads, 0) - coalesce(partner_stats.open_leads_count, 0), 0)
        ) as free_capacity
    from matches
    inner join profiles on matches.partner_id = profiles.partner_id
    left join partner_stats on matches.partner_id = partner_stats.partner_id
    group by matches.segment_id
),

final as (
    select
        capacity.segment_id,
        capacity.capacity_partners,
        recount.capacity_partners as recounted_partners
    from capacity
    left join recount on capacity.segment_id = recount.segment_id
    where
        capacity.capacity_partners <> coalesce(recount.capacity_partners, 0)
        or capacity.capacity_total_leads <> coalesce(recount.capacity_total_leads, 0)
        or capacity.free_capacity <> coalesce(recount.free_capacity, 0)
        or capacity.free_capacity > capacity.capacity_total_leads
)

select * from final
