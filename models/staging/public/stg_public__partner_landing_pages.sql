with landing_pages as (
    select * from {{ source('public', 'partner_landing_pages') }}
),

final as (
    select
        id as landing_page_id,
        partner_id,
        segment_id,
        path,
        status,
        source as page_source,
        title,
        subtitle,
        seo_title,
        seo_description,
        content_json,
        views_count,
        conversions_count,
        published_at,
        created_at,
        updated_at
    from landing_pages
)

select * from final
