{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ ensure_column_type(this, 'acceptance_rate', 'numeric(20,4)') }}",
            "{{ lead_stats_delete_window() }}",
        ],
        post_hook=[
            "{{ analyze_if_never_analyzed(this) }}",
            "{{ ensure_index(this, 'key_idx', '(segment_id, date)', unique=true) }}",
            "{{ ensure_index(this, 'date_idx', '(date)') }}",
        ],
    )
}}
{%- set window = lead_stats_window() -%}
{%- set tz = var('timezone') -%}
-- One row per segment per Amsterdam day, from the segment's first lead day on: to today while
-- the segment is active, to its last lead day once deactivated (history stays).
-- Leads are counted from the assignment mart alone (it carries each lead's creation time and
-- status bucket, int_leads_bucketed), never joined to partners. Capacity: that day's capture,
-- else the nearest earlier one (NULL before the first capture), joined as one row per day of
-- each capture's validity. A run rebuilds only the days of lead_stats_window(): the mart is
-- read with lead_created_at between two timestamptz bounds (index range scan).
with window_assignments as (
    select
        segment_id,
        status_bucket,
        (lead_created_at at time zone '{{ tz }}')::date as lead_date
    from {{ ref('lead_segment_assignments') }}
    where
        segment_id is not null
        and lead_created_at >= ('{{ window.start }}'::date)::timestamp at time zone '{{ tz }}'
        and lead_created_at < ('{{ window.end }}'::date + 1)::timestamp at time zone '{{ tz }}'
),

segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

capacity_daily as (
    select * from {{ ref('segment_capacity_daily') }}
),

daily_counts as (
    select
        segment_id,
        lead_date,
        count(*) as leads_generated,
        count(*) filter (where status_bucket = 'accepted') as leads_accepted,
        count(*) filter (where status_bucket = 'rejected') as leads_rejected,
        count(*) filter (where status_bucket = 'pending') as leads_pending
    from window_assignments
    group by segment_id, lead_date
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
        -- days built earlier, outside this window (the pre-hook deleted the window): one probe
        -- of the (segment_id, date) index per segment, not a scan of the table
        select
            segments.segment_id,
            (
                select built.date
                from {{ this }} as built
                where built.segment_id = segments.segment_id
                order by built.date
                limit 1
            ) as first_lead_date,
            case
                when not segments.is_active
                    then (
                        select built.date
                        from {{ this }} as built
                        where built.segment_id = segments.segment_id and built.leads_generated > 0
                        order by built.date desc
                        limit 1
                    )
            end as last_lead_date
        from segments
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
    where coalesce(window_bounds.first_lead_date, outside_bounds.first_lead_date) is not null
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

capacity_ranges as (
    -- each capture holds from its day until the segment's next capture
    select
        segment_id,
        capture_date,
        lead(capture_date) over (partition by segment_id order by capture_date) as next_capture_date,
        capacity_partners,
        capacity_total_leads
    from capacity_daily
    where capture_date <= '{{ window.end }}'::date
),

capacity_days as (
    -- one row per segment and window day that a capture covers: an equi-join for the grid
    -- (least() skips NULL: the last capture holds to the end of the window)
    select
        capacity_ranges.segment_id,
        capacity_day.day_at::date as date,
        capacity_ranges.capacity_partners,
        capacity_ranges.capacity_total_leads
    from capacity_ranges
    cross join
        lateral generate_series(
            greatest(capacity_ranges.capture_date, '{{ window.start }}'::date)::timestamp,
            least(capacity_ranges.next_capture_date - 1, '{{ window.end }}'::date)::timestamp,
            interval '1 day'
        ) as capacity_day (day_at)
    where
        capacity_ranges.next_capture_date is null
        or capacity_ranges.next_capture_date > '{{ window.start }}'::date
),

final as (
    select
        grid.segment_id,
        grid.date,
        coalesce(daily_counts.leads_generated, 0)::integer as leads_generated,
        coalesce(daily_counts.leads_accepted, 0)::integer as leads_accepted,
        coalesce(daily_counts.leads_rejected, 0)::integer as leads_rejected,
        coalesce(daily_counts.leads_pending, 0)::integer as leads_pending,
        capacity_days.capacity_partners,
        capacity_days.capacity_total_leads,
        -- typed as the contract (an incremental insert must match the table's type)
        round(
            daily_counts.leads_accepted::numeric
            / nullif(daily_counts.leads_accepted + daily_counts.leads_rejected, 0),
            4
        )::numeric(20, 4) as acceptance_rate
    from grid
    left join daily_counts
        on
            grid.segment_id = daily_counts.segment_id
            and grid.date = daily_counts.lead_date
    left join capacity_days
        on
            grid.segment_id = capacity_days.segment_id
            and grid.date = capacity_days.date
)

select * from final
