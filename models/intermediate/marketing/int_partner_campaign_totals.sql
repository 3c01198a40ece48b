-- One row per partner that has campaigns: campaign counts and summed totals.
-- Ratios are not summed here: the marts derive them from the summed totals.
with

campaigns as (
    select * from {{ ref('stg_public__partner_marketing_campaigns') }}
),

final as (
    select
        partner_id,
        cast(count(*) as integer) as campaigns_total,
        cast(count(*) filter (where status = 'active') as integer) as active_campaigns,
        cast(count(*) filter (where status = 'active' and is_ai_managed) as integer)
            as active_ai_managed_campaigns,
        cast(coalesce(sum(monthly_budget) filter (where status = 'active'), 0) as numeric)
            as active_monthly_campaign_budget,
        cast(coalesce(sum(total_spend), 0) as numeric) as total_spend,
        -- numeric: a sum of bigints can exceed bigint (one tenant's absurd totals must not stop the night)
        cast(coalesce(sum(total_clicks), 0) as numeric) as total_clicks,
        cast(coalesce(sum(total_impressions), 0) as numeric) as total_impressions,
        cast(coalesce(sum(total_leads), 0) as bigint) as total_leads
    from campaigns
    group by partner_id
)

select * from final
