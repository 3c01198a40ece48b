-- Two independent derivations of cost per lead agree: the mart's cpl rounded to cents equals
-- the database's generated column avg_cpl (both NULL without leads).
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
    where round(campaign_performance.cpl, 2) is distinct from campaigns.avg_cpl
)

select * from final
