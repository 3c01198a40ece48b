-- Data quality, for admins (warn: it never stops the night): the same external campaign id on
-- one channel under two partners. The database allows it (the key is per partner and channel),
-- so that a duplicate-key error never tells a partner that another partner runs that campaign.
{{ config(severity='warn') }}

with campaigns as (
    select * from {{ ref('stg_public__partner_marketing_campaigns') }}
),

final as (
    select
        channel,
        external_campaign_id,
        count(distinct partner_id) as partners,
        array_agg(distinct partner_id) as partner_ids
    from campaigns
    where external_campaign_id is not null
    group by channel, external_campaign_id
    having count(distinct partner_id) > 1
)

select * from final
