-- Two independent derivations of cost per lead agree: the mart's cpl (4 decimals) is within
-- half a cent of the database's generated column avg_cpl (cents), and both are NULL without
-- leads. (Not round(cpl, 2) = avg_cpl: rounding twice turns 14.31497 into 14.32.)
with

campaigns as (
    select * from {{ source('public', 'partner_marketing_campaigns') }}
),

campaign_performance as (
    select * from {{ ref('campaign_performance') }}
),

final as (
    select
        campaign_performance.campaign_id,
        campaign_performance.cpl,
        campaigns.avg_cpl
    from campaign_performance
    inner join campaigns
        on campaign_performance.campaign_id = campaigns.id
    where
        (campaign_performance.cpl is null) <> (campaigns.avg_cpl is null)
        or abs(campaign_performance.cpl - campaigns.avg_cpl) > 0.005
)

select * from final
