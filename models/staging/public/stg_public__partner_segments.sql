with source as (
    select * from {{ source('public', 'partner_segments') }}
),

final as (
    select
        id as partner_segment_id,
        partner_id,
        segment_id,
        is_primary,
        priority,
        is_active,
        created_at,
        updated_at
    from source
)

select * from final
