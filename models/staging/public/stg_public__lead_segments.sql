with source as (
    select * from {{ source('public', 'lead_segments') }}
),

final as (
    select
        id as segment_id,
        branch,
        region as region_code,
        is_active,
        created_at,
        updated_at
    from source
)

select * from final
