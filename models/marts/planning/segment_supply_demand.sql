-- One row per active segment: recent demand, free capacity now, days of cover, acceptance rate
-- and the health class, decided here and nowhere else (rules in _planning__models.yml).
with

capacity as (
    select * from {{ ref('segment_capacity') }}
),

daily_stats as (
    select * from {{ ref('lead_generation_stats') }}
),

reporting as (
    select {{ reporting_date() }} as reporting_date
),

windowed as (
    select
        daily_stats.segment_id,
        coalesce(sum(daily_stats.leads_generated) filter (
            where daily_stats.date >= reporting.reporting_date - 7
        ), 0) as leads_7d,
        sum(daily_stats.leads_generated) as leads_28d,
        sum(daily_stats.leads_accepted) as leads_accepted_28d,
        sum(daily_stats.leads_rejected) as leads_rejected_28d
    from daily_stats
    cross join reporting
    where
        daily_stats.date >= reporting.reporting_date - 28
        and daily_stats.date < reporting.reporting_date
    group by daily_stats.segment_id
),

measured as (
    select
        capacity.segment_id,
        capacity.branch,
        capacity.region_code,
        reporting.reporting_date,
        capacity.capacity_partners,
        capacity.capacity_total_leads,
        capacity.current_open_leads,
        capacity.free_capacity,
        capacity.utilization,
        coalesce(windowed.leads_7d, 0) as leads_7d,
        coalesce(windowed.leads_28d, 0) as leads_28d,
        coalesce(windowed.leads_accepted_28d, 0) as leads_accepted_28d,
        coalesce(windowed.leads_rejected_28d, 0) as leads_rejected_28d,
        coalesce(windowed.leads_7d, 0) / 7.0 as demand_leads_per_day_7d,
        coalesce(windowed.leads_28d, 0) / 28.0 as demand_leads_per_day_28d
    from capacity
    cross join reporting
    left join windowed
        on capacity.segment_id = windowed.segment_id
),

ratios as (
    select
        measured.*,
        measured.free_capacity / nullif(measured.demand_leads_per_day_7d, 0) as days_of_cover,
        cast(measured.leads_accepted_28d as numeric)
        / nullif(measured.leads_accepted_28d + measured.leads_rejected_28d, 0)
            as acceptance_rate_28d
    from measured
),

classified as (
    select
        ratios.*,
        case
            when
                ratios.leads_accepted_28d + ratios.leads_rejected_28d
                >= {{ var('health_min_decided_leads_28d') }}
                and ratios.acceptance_rate_28d < {{ var('health_min_acceptance_rate') }}
                then 'unhealthy'
            when
                ratios.demand_leads_per_day_7d > 0
                and ratios.days_of_cover < {{ var('health_min_days_of_cover') }}
                then 'supply_constrained'
            when
                ratios.demand_leads_per_day_7d = 0
                or (
                    coalesce(ratios.utilization, 0) < {{ var('health_max_utilization') }}
                    and ratios.days_of_cover > {{ var('health_max_days_of_cover') }}
                )
                then 'demand_constrained'
            else 'healthy'
        end as health_class
    from ratios
),

final as (
    select
        segment_id,
        branch,
        region_code,
        reporting_date,
        cast(leads_7d as bigint) as leads_7d,
        cast(leads_28d as bigint) as leads_28d,
        cast(round(demand_leads_per_day_7d, 4) as numeric) as demand_leads_per_day_7d,
        cast(round(demand_leads_per_day_28d, 4) as numeric) as demand_leads_per_day_28d,
        cast(capacity_partners as integer) as capacity_partners,
        cast(capacity_total_leads as integer) as capacity_total_leads,
        cast(current_open_leads as integer) as current_open_leads,
        cast(free_capacity as integer) as free_capacity,
        cast(utilization as numeric) as utilization,
        cast(round(days_of_cover, 2) as numeric) as days_of_cover,
        cast(leads_accepted_28d as bigint) as leads_accepted_28d,
        cast(leads_rejected_28d as bigint) as leads_rejected_28d,
        cast(round(acceptance_rate_28d, 4) as numeric) as acceptance_rate_28d,
        health_class
    from classified
)

select * from final
