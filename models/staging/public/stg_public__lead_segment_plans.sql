with source as (
    select * from {{ source('public', 'lead_segment_plans') }}
),

final as (
    select
        id as plan_id,
        segment_id,
        period_start as period_start_date,
        period_end as period_end_date,
        target_leads,
        budget,
        created_at,
        updated_at
    from source
)

select * from final
