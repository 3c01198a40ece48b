{{
    config(
        materialized='incremental',
        unique_key='capture_date',
        incremental_strategy='delete+insert',
        full_refresh=false,
        pre_hook="{{ ensure_column(this, 'utilization', 'numeric(20,4)') }}",
        post_hook=[
            "{{ analyze_if_never_analyzed(this) }}",
        ],
    )
}}
-- segment_capacity captured once per Amsterdam day: history keeps the capacity each day had.
-- A second run on the same day replaces that day's whole capture (delete by capture_date).
-- full_refresh=false: past captures cannot be recomputed, so --full-refresh keeps them.
-- The key (segment_id, capture_date) is the contract's primary key (macro ensure_primary_key turns
-- the unique index key_idx of tables built before the contract had one into it).
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
