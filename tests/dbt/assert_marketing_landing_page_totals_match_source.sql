-- partner_marketing_performance's landing-page counts and counters equal the source table's,
-- per non-admin partner (partners without pages have zeros).
with

landing_pages as (
    select * from {{ source('public', 'partner_landing_pages') }}
),

partner_performance as (
    select * from {{ ref('partner_marketing_performance') }}
),

source_per_partner as (
    select
        partner_id,
        count(*) as page_count,
        count(*) filter (where status = 'live') as live_page_count,
        sum(views_count) as view_count,
        sum(conversions_count) as conversion_count
    from landing_pages
    group by partner_id
),

final as (
    select
        partner_performance.partner_id,
        partner_performance.landing_pages_total,
        partner_performance.live_landing_pages,
        partner_performance.total_views,
        partner_performance.total_conversions
    from partner_performance
    left join source_per_partner
        on partner_performance.partner_id = source_per_partner.partner_id
    where
        partner_performance.landing_pages_total <> coalesce(source_per_partner.page_count, 0)
        or partner_performance.live_landing_pages <> coalesce(source_per_partner.live_page_count, 0)
        or partner_performance.total_views <> coalesce(source_per_partner.view_count, 0)
        or partner_performance.total_conversions <> coalesce(source_per_partner.conversion_count, 0)
)

select * from final
