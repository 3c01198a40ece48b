with source as (
    select * from {{ source('public', 'partner_marketing_campaigns') }}
),

final as (
    select
        id as campaign_id,
        partner_id,
        segment_id,
        channel,
        external_campaign_id,
        name as campaign_name,
        status,
        daily_budget,
        monthly_budget,
        cpl_target,
        ai_managed as is_ai_managed,
        total_spend,
        total_clicks,
        total_impressions,
        total_leads,
        avg_cpl,
        started_at,
        ended_at,
        created_at,
        updated_at
    from source
)

select * from final
