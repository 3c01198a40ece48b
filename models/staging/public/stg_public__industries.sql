with source as (
    select * from {{ source('public', 'industries') }}
),

final as (
    select
        id as industry_id,
        name as industry_name,
        {{ normalize_key('name') }} as industry_key,
        created_at
    from source
)

select * from final
