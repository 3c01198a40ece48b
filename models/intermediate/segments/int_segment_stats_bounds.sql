-- The days lead_generation_stats holds for each segment with leads: from its first lead day to
-- today while it is active, to its last lead day once it is not (two index probes a segment).
{%- set tz = var('timezone') %}
with segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

assignments as not materialized (
    -- only the columns read: a view depends on every column it selects, and a pre-hook of the
    -- mart (ensure_column) must stay free to convert the others
    select
        segment_id,
        lead_created_at
    from {{ ref('lead_segment_assignments') }}
),

final as (
    select
        segments.segment_id,
        (first_lead.lead_created_at at time zone '{{ tz }}')::date as first_date,
        case
            when segments.is_active then (now() at time zone '{{ tz }}')::date
            else (last_lead.lead_created_at at time zone '{{ tz }}')::date
        end as last_date
    from segments
    cross join
        lateral (
            select assignments.lead_created_at from assignments
            where assignments.segment_id = segments.segment_id
            order by assignments.lead_created_at
            limit 1
        ) as first_lead
    cross join lateral (
        select assignments.lead_created_at from assignments
        where assignments.segment_id = segments.segment_id
        order by assignments.lead_created_at desc
        limit 1
    ) as last_lead
)

select * from final
