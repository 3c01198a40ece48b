with source as (
    select * from {{ source('public', 'partner_performance_stats') }}
),

final as (
    select
        partner_id,
        leads_assigned_30d,
        leads_accepted_30d,
        leads_rejected_30d,
        conversion_rate_30d,
        open_leads_count,
        last_assigned_at,
        refreshed_at
    from source
)

select * from final
