-- The current capacity of every active segment. Each matched partner counts once per segment
-- (partner_segment_matches is unique per partner x segment); open leads come from the
-- partner stats MV (a partner's open leads over all its segments). No partners: zeros.
with segments as (
    select * from {{ ref('stg_public__lead_segments') }}
    where is_active
),

matches as (
    select * from {{ ref('partner_segment_matches') }}
),

partners as (
    select * from {{ ref('stg_public__profiles') }}
),

partner_stats as (
    select * from {{ ref('stg_public__partner_performance_stats') }}
),

partner_capacity as (
    select
        matches.segment_id,
        matches.partner_id,
        coalesce(partners.max_open_leads, 0) as max_open_leads,
        coalesce(partner_stats.open_leads_count, 0) as open_leads
    from matches
    inner join partners on matches.partner_id = partners.partner_id
    left join partner_stats on matches.partner_id = partner_stats.partner_id
),

per_segment as (
    select
        segment_id,
        count(distinct partner_id) as capacity_partners,
        sum(max_open_leads) as capacity_total_leads,
        sum(open_leads) as current_open_leads,
        sum(greatest(max_open_leads - open_leads, 0)) as free_capacity
    from partner_capacity
    group by segment_id
),

final as (
    select
        segments.segment_id,
        segments.branch,
        segments.region_code,
        coalesce(per_segment.capacity_partners, 0)::integer as capacity_partners,
        coalesce(per_segment.capacity_total_leads, 0)::integer as capacity_total_leads,
        coalesce(per_segment.current_open_leads, 0)::integer as current_open_leads,
        coalesce(per_segment.free_capacity, 0)::integer as free_capacity,
        round(
            per_segment.current_open_leads::numeric / nullif(per_segment.capacity_total_leads, 0), 4
        ) as utilization
    from segments
    left join per_segment on segments.segment_id = per_segment.segment_id
)

select * from final
