-- One row per partner landing page: its lifetime views and conversions counters, status and the
-- Amsterdam days it was created and published (the time dimensions of the semantic layer's
-- landing-page metrics). partner_marketing_performance sums the same counters per partner.
with landing_pages as (
    select * from {{ ref('stg_public__partner_landing_pages') }}
),

final as (
    select
        landing_page_id,
        partner_id,
        segment_id,
        status,
        page_source,
        (created_at at time zone '{{ var("timezone") }}')::date as created_date,
        (published_at at time zone '{{ var("timezone") }}')::date as published_date,
        cast(coalesce(views_count, 0) as bigint) as total_views,
        cast(coalesce(conversions_count, 0) as bigint) as total_conversions,
        cast(round(cast(conversions_count as numeric) / nullif(views_count, 0), 6) as numeric)
            as conversion_rate
    from landing_pages
)

select * from final
