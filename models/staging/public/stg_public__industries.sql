-- Industries; the id as text whatever the platform's key type (macro source_column).
with source as (
    select * from {{ source('public', 'industries') }}
),

renamed as (
    select
        {{ source_column('industries', 'id') }} as industry_id,
        {{ source_column('industries', 'name') }} as industry_name
    from source
),

final as (
    select
        industry_id,
        industry_name,
        {{ normalize_key('industry_name') }} as industry_key
    from renamed
)

select * from final
