-- One row per segment (active or not): its branch and region with the region's name, type and
-- province. The dimension table of the semantic layer's `segment` entity, so every metric by
-- segment can be cut by branch, region or province.
with lead_segments as (
    select * from {{ ref('stg_public__lead_segments') }}
),

regions as (
    select * from {{ ref('int_regions') }}
),

provinces as (
    select * from {{ ref('region_provinces') }}
),

final as (
    select
        lead_segments.segment_id,
        lead_segments.branch,
        lead_segments.region_code,
        regions.region_name,
        regions.region_type,
        regions.province_code,
        provinces.province_name,
        lead_segments.branch || ' / ' || lead_segments.region_code as segment_label,
        lead_segments.is_active
    from lead_segments
    left join regions on lead_segments.region_code = regions.region_code
    left join provinces on regions.province_code = provinces.province_code
)

select * from final
