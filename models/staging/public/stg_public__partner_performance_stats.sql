-- The partner stats MV: the two columns of the source contract (open leads per partner).
with source as (
    select * from {{ source('public', 'partner_performance_stats') }}
),

final as (
    select
        {{ source_column('partner_performance_stats', 'partner_id') }} as partner_id,
        {{ source_column('partner_performance_stats', 'open_leads_count') }} as open_leads_count
    from source
)

select * from final
