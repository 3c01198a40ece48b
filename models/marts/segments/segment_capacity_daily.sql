{{
    config(
        materialized='incremental',
        unique_key='capture_date',
        incremental_strategy='delete+insert',
        full_refresh=false,
        pre_hook="{{ ensure_column_type(this, 'utilization', 'numeric(20,4)') }}",
        post_hook=[
            "{{ analyze_if_never_analyzed(this) }}",
            "{{ ensure_index(this, 'key_idx', '(segment_id, capture_date)', unique=true) }}",
        ],
    )
}}
-- segment_capacity captured once per Amsterdam day: history keeps the capacity each day had.
-- A second run on the same day replaces that day's whole capture (delete by capture_date).
-- full_refresh=false: past captures cannot be recomputed, so --full-refresh keeps them.
with capacity as (
    select * from {{ ref('segment_capacity') }}
),

final as (
    select
        (now() at time zone '{{ var("timezone") }}')::date as capture_date,
        segment_id,
        branch,
        region_code,
        capacity_partners,
        capacity_total_leads,
        current_open_leads,
        free_capacity,
        utilization::numeric(20, 4) as utilization,  -- the contract's type (incremental insert)
        now() as captured_at
    from capacity
)

select * from final
