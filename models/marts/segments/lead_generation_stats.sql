{{
    config(
        materialized='incremental',
        unique_key=['segment_id', 'date'],
        incremental_strategy='delete+insert',
        pre_hook=[
            "{{ ensure_column(this, 'acceptance_rate', 'numeric(20,4)') }}",
            "{{ ensure_column(this, 'rebuilt_at', 'timestamp with time zone') }}",
        ],
        post_hook=[
            "{{ lead_stats_trim() }}",
            "{{ analyze_if_never_analyzed(this) }}",
            "{{ ensure_index(this, 'date_idx', '(date)') }}",
        ],
    )
}}
-- One row per segment per Amsterdam day (rules and the incremental design in the model's docs).
{%- set tz = var('timezone') -%}
{%- set range = lead_stats_range() -%}
{%- set follows_changes = is_incremental() and range is none -%}
{%- if follows_changes and var('stats_rebuilt_after', none) is none -%}
    {#- a table built before rebuilt_at existed (the pre-hook adds it) is recounted whole once -#}
    {%- set follows_changes = 'rebuilt_at' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
{%- endif -%}
{%- set rebuilt_after = watermark_literal('select max(rebuilt_at) from ' ~ this, override_var='stats_rebuilt_after')
    if follows_changes else "'-infinity'" -%}
{%- set follows_changes = rebuilt_after != "'-infinity'" %}
with assignments as not materialized (
    select * from {{ ref('lead_segment_assignments') }}
),

day_log as not materialized (  -- noqa: ST03
    select * from {{ ref('int_lead_segment_days_logged') }}
),

bounds as (
    select * from {{ ref('int_segment_stats_bounds') }}
),

capacity_daily as not materialized (
    select * from {{ ref('segment_capacity_daily') }}
),

{% if follows_changes %}
    changed_pairs as (
        -- the pair of each lead written since the last build (status, new lead, re-assignment)
        select
            segment_id,
            (lead_created_at at time zone '{{ tz }}')::date as date
        from assignments
        where written_at > {{ rebuilt_after }}::timestamptz and segment_id is not null
        union
        -- every pair a lead has had since, and the one the last build counted it in
        select
            day_log.segment_id,
            day_log.lead_date
        from day_log
        where day_log.logged_at > {{ rebuilt_after }}::timestamptz
        union
        select
            counted.segment_id,
            counted.lead_date
        from (
            select distinct day_log.lead_id from day_log
            where day_log.logged_at > {{ rebuilt_after }}::timestamptz
        ) as moved
        cross join lateral (
            select
                day_log.segment_id,
                day_log.lead_date
            from day_log
            where day_log.lead_id = moved.lead_id and day_log.logged_at <= {{ rebuilt_after }}::timestamptz
            order by day_log.logged_at desc
            limit 1
        ) as counted
    ),

    built as materialized (
        -- the days built so far are contiguous per segment: two probes of the key index, once
        -- per segment (materialized: not once per day of the grid below)
        select
            bounds.segment_id,
            (
                select min(built.date) from {{ this }} as built
                where built.segment_id = bounds.segment_id)
                as first_built_date,
            (
                select max(built.date) from {{ this }} as built
                where built.segment_id = bounds.segment_id)
                as last_built_date
        from bounds
    ),

    grid as (
        select
            changed_pairs.segment_id,
            changed_pairs.date
        from changed_pairs
        inner join bounds
            on
                changed_pairs.segment_id = bounds.segment_id
                and changed_pairs.date between bounds.first_date and bounds.last_date
        union
        -- days not built yet, and the last stats_rebuild_margin_days (today's capacity capture)
        select
            bounds.segment_id,
            grid_day.day_at::date
        from bounds
        inner join built on bounds.segment_id = built.segment_id
        cross join lateral generate_series(bounds.first_date, bounds.last_date, interval '1 day') as grid_day (day_at)
        where
            built.first_built_date is null
            or grid_day.day_at < built.first_built_date
            or grid_day.day_at > built.last_built_date
            or grid_day.day_at >= bounds.last_date - {{ var('stats_rebuild_margin_days') | int }}
    ),

    counts as (
        -- one range of the (segment_id, lead_created_at) index per pair
        select
            grid.segment_id,
            grid.date,
            counted.leads_generated,
            counted.leads_accepted,
            counted.leads_rejected,
            counted.leads_pending
        from grid
        cross join lateral (
            select
                count(*) as leads_generated,
                count(*) filter (where assignments.status_bucket = 'accepted') as leads_accepted,
                count(*) filter (where assignments.status_bucket = 'rejected') as leads_rejected,
                count(*) filter (where assignments.status_bucket = 'pending') as leads_pending
            from assignments
            where
                assignments.segment_id = grid.segment_id
                and assignments.lead_created_at >= grid.date::timestamp at time zone '{{ tz }}'
                and assignments.lead_created_at < (grid.date + 1)::timestamp at time zone '{{ tz }}'
        ) as counted
    ),
{% else %}
    {%- set first_day = "'" ~ range.start ~ "'::date" if range else "'-infinity'::date" %}
    {%- set last_day = "'" ~ range.end ~ "'::date" if range else "'infinity'::date" %}
    grid as (
        -- every day of each segment (within the vars' range for a repair run)
        select
            bounds.segment_id,
            grid_day.day_at::date as date
        from bounds
        cross join lateral generate_series(
            greatest(bounds.first_date, {{ first_day }}),
            least(bounds.last_date, {{ last_day }}),
            interval '1 day'
        ) as grid_day (day_at)
    ),

    daily_counts as (
        select
            segment_id,
            (lead_created_at at time zone '{{ tz }}')::date as date,
            count(*) as leads_generated,
            count(*) filter (where status_bucket = 'accepted') as leads_accepted,
            count(*) filter (where status_bucket = 'rejected') as leads_rejected,
            count(*) filter (where status_bucket = 'pending') as leads_pending
        from assignments
        where
            segment_id is not null
            and lead_created_at >= {{ first_day }}::timestamp at time zone '{{ tz }}'
            and lead_created_at < ({{ last_day }} + 1)::timestamp at time zone '{{ tz }}'
        group by segment_id, date
    ),

    counts as (
        select
            grid.segment_id,
            grid.date,
            coalesce(daily_counts.leads_generated, 0) as leads_generated,
            coalesce(daily_counts.leads_accepted, 0) as leads_accepted,
            coalesce(daily_counts.leads_rejected, 0) as leads_rejected,
            coalesce(daily_counts.leads_pending, 0) as leads_pending
        from grid
        left join daily_counts on grid.segment_id = daily_counts.segment_id and grid.date = daily_counts.date
    ),
{% endif %}

final as (
    select
        counts.segment_id,
        counts.date,
        counts.leads_generated::integer as leads_generated,
        counts.leads_accepted::integer as leads_accepted,
        counts.leads_rejected::integer as leads_rejected,
        counts.leads_pending::integer as leads_pending,
        capacity.capacity_partners,
        capacity.capacity_total_leads,
        round(
            counts.leads_accepted::numeric / nullif(counts.leads_accepted + counts.leads_rejected, 0), 4
        )::numeric(20, 4) as acceptance_rate,
        now() as rebuilt_at
    from counts
    -- that day's capture, else the nearest earlier one (NULL before the first)
    left join lateral (
        select
            capacity_daily.capacity_partners,
            capacity_daily.capacity_total_leads
        from capacity_daily
        where capacity_daily.segment_id = counts.segment_id and capacity_daily.capture_date <= counts.date
        order by capacity_daily.capture_date desc
        limit 1
    ) as capacity on true
)

select * from final
