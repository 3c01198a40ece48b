-- One row per marketing campaign: its totals and the ratios derived from them.
-- Every ratio divides by nullif(..., 0): no clicks, impressions or leads gives NULL, never an error.
with

campaigns as (
    select * from {{ ref('stg_public__partner_marketing_campaigns') }}
),

ratios as (
    select
        campaigns.*,
        cast(campaigns.total_clicks as numeric) / nullif(campaigns.total_impressions, 0) as ctr,
        campaigns.total_spend / nullif(campaigns.total_clicks, 0) as cpc,
        campaigns.total_spend / nullif(campaigns.total_leads, 0) as cpl
    from campaigns
),

final as (
    select
        campaign_id,
        partner_id,
        segment_id,
        channel,
        external_campaign_id,
        campaign_name,
        status,
        is_ai_managed,
        started_at,
        ended_at,
        cast(daily_budget as numeric) as daily_budget,
        cast(monthly_budget as numeric) as monthly_budget,
        cast(total_spend as numeric) as spend,
        cast(total_clicks as bigint) as clicks,
        cast(total_impressions as bigint) as impressions,
        cast(total_leads as bigint) as leads,
        cast(round(ctr, 6) as numeric) as ctr,
        cast(round(cpc, 4) as numeric) as cpc,
        cast(round(cpl, 4) as numeric) as cpl,
        cast(cpl_target as numeric) as cpl_target,
        cast(round(cpl / nullif(cpl_target, 0), 4) as numeric) as cpl_vs_target,
        -- spend above what the target allows for the leads received; with spend and no leads
        -- that is any spend at all (cpl is NULL then, but the campaign is over target)
        coalesce(cpl_target is not null and total_spend > cpl_target * total_leads, false)
            as is_over_target
    from ratios
)

select * from final
