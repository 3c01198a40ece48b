-- One row per partner (every non-admin profile, int_marketing_partners): marketing profile, campaign totals and
-- landing-page totals. Partners without campaigns or pages get zeros; ratios without a
-- denominator are NULL.
with

marketing_partners as (
    select * from {{ ref('int_marketing_partners') }}
),

campaign_totals as (
    select * from {{ ref('int_partner_campaign_totals') }}
),

landing_page_totals as (
    select * from {{ ref('int_partner_landing_page_totals') }}
),

partners as (
    select
        marketing_partners.partner_id,
        marketing_partners.marketing_mode,
        marketing_partners.is_auto_marketing_enabled,
        marketing_partners.monthly_marketing_budget,
        coalesce(campaign_totals.campaigns_total, 0) as campaigns_total,
        coalesce(campaign_totals.active_campaigns, 0) as active_campaigns,
        coalesce(campaign_totals.active_monthly_campaign_budget, 0)
            as active_monthly_campaign_budget,
        coalesce(campaign_totals.total_spend, 0) as total_spend,
        coalesce(campaign_totals.total_clicks, 0) as total_clicks,
        coalesce(campaign_totals.total_impressions, 0) as total_impressions,
        coalesce(campaign_totals.total_leads, 0) as total_leads,
        coalesce(landing_page_totals.landing_pages_total, 0) as landing_pages_total,
        coalesce(landing_page_totals.live_landing_pages, 0) as live_landing_pages,
        coalesce(landing_page_totals.total_views, 0) as total_views,
        coalesce(landing_page_totals.total_conversions, 0) as total_conversions
    from marketing_partners
    left join campaign_totals
        on marketing_partners.partner_id = campaign_totals.partner_id
    left join landing_page_totals
        on marketing_partners.partner_id = landing_page_totals.partner_id
),

final as (
    select
        partner_id,
        marketing_mode,
        is_auto_marketing_enabled,
        cast(monthly_marketing_budget as numeric) as monthly_marketing_budget,
        cast(campaigns_total as integer) as campaigns_total,
        cast(active_campaigns as integer) as active_campaigns,
        cast(active_monthly_campaign_budget as numeric) as active_monthly_campaign_budget,
        cast(total_spend as numeric) as total_spend,
        cast(total_clicks as numeric) as total_clicks,
        cast(total_impressions as numeric) as total_impressions,
        cast(total_leads as bigint) as total_leads,
        cast(round(total_spend / nullif(total_leads, 0), 4) as numeric) as cpl,
        cast(
            round(active_monthly_campaign_budget / nullif(monthly_marketing_budget, 0), 4)
            as numeric
        ) as budget_allocated_share,
        cast(round(total_spend / nullif(monthly_marketing_budget, 0), 4) as numeric)
            as budget_used_share,
        cast(landing_pages_total as integer) as landing_pages_total,
        cast(live_landing_pages as integer) as live_landing_pages,
        cast(total_views as bigint) as total_views,
        cast(total_conversions as bigint) as total_conversions,
        cast(round(cast(total_conversions as numeric) / nullif(total_views, 0), 6) as numeric)
            as conversion_rate
    from partners
)

select * from final
