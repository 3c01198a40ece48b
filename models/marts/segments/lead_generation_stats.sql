{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ lead_stats_delete_window() }}",
        post_hook=[
            "create unique index if not exists {{ this.name }}_key_idx on {{ this }} (segment_id, date)",
            "create index if not exists {{ this.name }}_date_idx on {{ this }} (date)",
        ],
    )
}}
{%- set window = lead_stats_window() -%}
{%- set tz = var('timezone') -%}
-- One row per segment per Amsterdam day, from the segment's first lead day on: to today while
-- the segment is active, to its last lead day once deactivated (history stays).
-- Leads are counted from the assignment mart and bucketed once (int_leads_bucketed), never
-- joined to partners. Capacity: that day's capture, else the nearest earlier one (NULL before
-- the first capture). A run rebuilds only the days of lead_stats_window(): the leads are read
-- with created_at between two timestamptz bounds (index range scan on leads.created_at).
with window_leads as (
    select
        lead_id,
        status_bucket,
        (created_at at time zone '{{ tz }}')::date as lead_date
    from {{ ref('int_leads_bucketed') }}
    where
        created_at >= ('{{ window.start }}'::date)::timestamp at time zone '{{ tz }}'
        and created_at < ('{{ window.end }}'::date + 1)::timestamp at time zone '{{ tz }}'
),

assignments as (
    select * from {{ ref('lead_segment_assignments') }}
),

segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

capacity_daily as (
    select * from {{ ref('segment_capacity_daily') }}
),

daily_counts as (
    select
        assignments.segment_id,
        window_leads.lead_date,
        count(*) as leads_generated,
        count(*) filter (where window_leads.status_bucket = 'accepted') as leads_accepted,
        count(*) filter (where window_leads.status_bucket = 'rejected') as leads_rejected,
        count(*) filter (where window_leads.status_bucket = 'pending') as leads_pending
    from window_leads
    inner join assignments on window_leads.lead_id = assignments.lead_id
    where assignments.segment_id is not null
    group by assignments.segment_id, window_leads.lead_date
),

window_bounds as (
    select
        segment_id,
        min(lead_date) as first_lead_date,
        max(lead_date) as last_lead_date
    from daily_counts
    group by segment_id
),

{% if is_incremental() %}
    outside_bounds as (
        -- days built earlier and outside this window (the pre-hook deleted the window)
        select
            segment_id,
            min(date) as first_lead_date,
            max(date) filter (where leads_generated > 0) as last_lead_date
        from {{ this }}
        where date < '{{ window.start }}'::date or date > '{{ window.end }}'::date
        group by segment_id
    ),
{% else %}
    outside_bounds as (
        select
            null::uuid as segment_id,
            null::date as first_lead_date,
            null::date as last_lead_date
        where false
    ),
{% endif %}

segment_days as (
    select
        segments.segment_id,
        least(window_bounds.first_lead_date, outside_bounds.first_lead_date) as first_date,
        case
            when segments.is_active
                then least('{{ window.end }}'::date, (now() at time zone '{{ tz }}')::date)
            else greatest(window_bounds.last_lead_date, outside_bounds.last_lead_date)
        end as last_date
    from segments
    left join window_bounds on segments.segment_id = window_bounds.segment_id
    left join outside_bounds on segments.segment_id = outside_bounds.segment_id
    where coalesce(window_bounds.segment_id, outside_bounds.segment_id) is not null
),

grid as (
    select
        segment_days.segment_id,
        grid_day.day_at::date as date
    from segment_days
    cross join lateral generate_series(
        greatest(segment_days.first_date, '{{ window.start }}'::date)::timestamp,
        least(segment_days.last_date, '{{ window.end }}'::date)::timestamp,
        interval '1 day'
    ) as grid_day (day_at)
),

final as (
    select
        grid.segment_id,
        grid.date,
        coalesce(daily_counts.leads_generated, 0)::integer as leads_generated,
        coalesce(daily_counts.leads_accepted, 0)::integer as leads_accepted,
        coalesce(daily_counts.leads_rejected, 0)::integer as leads_rejected,
        coalesce(daily_counts.leads_pending, 0)::integer as leads_pending,
        capacity.capacity_partners,
        capacity.capacity_total_leads,
        round(
            daily_counts.leads_accepted::numeric
            / nullif(daily_counts.leads_accepted + daily_counts.leads_rejected, 0),
            4
        ) as acceptance_rate
    from grid
    left join daily_counts
        on
            grid.segment_id = daily_counts.segment_id
            and grid.date = daily_counts.lead_date
    left join lateral (
        select
            capacity_daily.capacity_partners,
            capacity_daily.capacity_total_leads
        from capacity_daily
        where
            capacity_daily.segment_id = grid.segment_id
            and capacity_daily.capture_date <= grid.date
        order by capacity_daily.capture_date desc
        limit 1
    ) as capacity on true
)

select * from final
