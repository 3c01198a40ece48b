-- campaign_performance has every campaign once, and its totals equal the sums of the source
-- table; partner_marketing_performance carries the same totals for the non-admin partners.
with

campaigns as (
    select * from {{ source('public', 'partner_marketing_campaigns') }}
),

profiles as (
    select * from {{ source('public', 'profiles') }}
),

campaign_performance as (
    select * from {{ ref('campaign_performance') }}
),

partner_performance as (
    select * from {{ ref('partner_marketing_performance') }}
),

source_totals as (
    select
        count(*) as campaigns,
        coalesce(sum(total_spend), 0) as spend,
        coalesce(sum(total_clicks), 0) as clicks,
        coalesce(sum(total_impressions), 0) as impressions,
        coalesce(sum(total_leads), 0) as leads
    from campaigns
),

source_partner_totals as (
    select
        count(*) as campaigns,
        coalesce(sum(campaigns.total_spend), 0) as spend,
        coalesce(sum(campaigns.total_leads), 0) as leads
    from campaigns
    inner join profiles
        on campaigns.partner_id = profiles.id
    where not profiles.is_admin
),

mart_totals as (
    select
        count(*) as campaigns,
        coalesce(sum(spend), 0) as spend,
        coalesce(sum(clicks), 0) as clicks,
        coalesce(sum(impressions), 0) as impressions,
        coalesce(sum(leads), 0) as leads
    from campaign_performance
),

mart_partner_totals as (
    select
        coalesce(sum(campaigns_total), 0) as campaigns,
        coalesce(sum(total_spend), 0) as spend,
        coalesce(sum(total_leads), 0) as leads
    from partner_performance
),

final as (
    select
        'campaign_performance' as mart,
        mart_totals.campaigns,
        mart_totals.spend,
        mart_totals.leads,
        source_totals.campaigns as source_campaigns,
        source_totals.spend as source_spend,
        source_totals.leads as source_leads
    from mart_totals
    cross join source_totals
    where
        mart_totals.campaigns <> source_totals.campaigns
        or mart_totals.spend <> source_totals.spend
        or mart_totals.clicks <> source_totals.clicks
        or mart_totals.impressions <> source_totals.impressions
        or mart_totals.leads <> source_totals.leads

    union all

    select
        'partner_marketing_performance' as mart,
        mart_partner_totals.campaigns,
        mart_partner_totals.spend,
        mart_partner_totals.leads,
        source_partner_totals.campaigns as source_campaigns,
        source_partner_totals.spend as source_spend,
        source_partner_totals.leads as source_leads
    from mart_partner_totals
    cross join source_partner_totals
    where
        mart_partner_totals.campaigns <> source_partner_totals.campaigns
        or mart_partner_totals.spend <> source_partner_totals.spend
        or mart_partner_totals.leads <> source_partner_totals.leads
)

select * from final
