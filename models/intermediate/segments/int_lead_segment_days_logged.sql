{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        post_hook=[
            "{{ analyze_if_never_analyzed(this) }}",
            "{{ ensure_index(this, 'lead_logged_idx', '(lead_id, logged_at) include (segment_id, lead_date)') }}",
            "{{ ensure_index(this, 'logged_at_idx', '(logged_at)') }}",
        ],
    )
}}
-- Append-only log of each lead's (segment, Amsterdam day): a row whenever it differs from the
-- lead's last logged one. lead_generation_stats reads it for the pair each changed lead had at
-- its previous build, which it must recount too.
{%- set tz = var('timezone') %}
with assignments as (
    select * from {{ ref('lead_segment_assignments') }}
    {% if is_incremental() -%}
        -- rows written since the last log run (written_at index)
        where written_at > {{ watermark_literal('select max(logged_at) from ' ~ this) }}::timestamptz
    {%- endif %}
),

current_days as (
    select
        lead_id,
        segment_id,
        (lead_created_at at time zone '{{ tz }}')::date as lead_date
    from assignments
),

final as (
    select
        current_days.lead_id,
        current_days.segment_id,
        current_days.lead_date,
        now() as logged_at
    from current_days
    {% if is_incremental() -%}
        left join lateral (
            select
                log_row.segment_id,
                log_row.lead_date
            from {{ this }} as log_row
            where log_row.lead_id = current_days.lead_id
            order by log_row.logged_at desc
            limit 1
        ) as last_logged on true
        where
            -- an unmatched lead has no pair to log until it had one
            current_days.segment_id is distinct from last_logged.segment_id
            or (current_days.segment_id is not null and current_days.lead_date is distinct from last_logged.lead_date)
    {%- else -%}
        where current_days.segment_id is not null
    {%- endif %}
)

select * from final
