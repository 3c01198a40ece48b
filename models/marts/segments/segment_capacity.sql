-- The current capacity of every active segment: its matched partners (each once) with their room
-- (int_partner_free_capacity, the one place free capacity is computed). No partners: zeros.
with segments as (
    select * from {{ ref('stg_public__lead_segments') }}
    where is_active
),

matches as (
    select * from {{ ref('partner_segment_matches') }}
),

partner_room as (
    select * from {{ ref('int_partner_free_capacity') }}
),

partner_capacity as (
    select
        matches.segment_id,
        matches.partner_id,
        partner_room.max_open_leads,
        partner_room.open_leads,
        partner_room.free_capacity
    from matches
    inner join partner_room on matches.partner_id = partner_room.partner_id
),

per_segment as (
    select
        segment_id,
        count(distinct partner_id) as capacity_partners,
        sum(max_open_leads) as capacity_total_leads,
        sum(open_leads) as current_open_leads,
        sum(free_capacity) as free_capacity
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
