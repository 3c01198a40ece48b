-- One row per partner that has landing pages: page counts per status and summed counters
-- over all of the partner's pages (archived pages keep the views and conversions they had).
with

landing_pages as (
    select * from {{ ref('stg_public__partner_landing_pages') }}
),

final as (
    select
        partner_id,
        cast(count(*) as integer) as landing_pages_total,
        cast(count(*) filter (where status = 'live') as integer) as live_landing_pages,
        cast(coalesce(sum(views_count), 0) as bigint) as total_views,
        cast(coalesce(sum(conversions_count), 0) as bigint) as total_conversions
    from landing_pages
    group by partner_id
)

select * from final
