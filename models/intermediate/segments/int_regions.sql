-- Provinces and municipalities in one namespace of region codes (the seeds guarantee that a
-- municipality code never equals a province code).
with provinces as (
    select * from {{ ref('region_provinces') }}
),

municipalities as (
    select * from {{ ref('region_municipalities') }}
),

final as (
    select
        province_code as region_code,
        province_name as region_name,
        'province' as region_type,
        province_code
    from provinces

    union all

    select
        municipality_code as region_code,
        municipality_name as region_name,
        'municipality' as region_type,
        province_code
    from municipalities
)

select * from final
