-- One row: a hash of the reference data an unmatched lead's resolution reads (active segments,
-- industry branches, PC4 and region-name seeds). An unmatched lead resolved against another
-- hash is resolved again.
with active_segments as (
    select * from {{ ref('stg_public__lead_segments') }}
    where is_active
),

industry_branches as (
    select * from {{ ref('int_industry_branches') }}
),

pc4_regions as (
    select * from {{ ref('int_pc4_regions') }}
),

region_keys as (
    select * from {{ ref('int_region_keys') }}
),

parts as (
    select
        (
            select string_agg(concat_ws(',', segment_id, branch, region_code), ';' order by segment_id)
            from active_segments
        ) as segments_part,
        (
            select string_agg(concat_ws(',', industry_id, branch), ';' order by industry_id)
            from industry_branches
        ) as industries_part,
        (
            select string_agg(concat_ws(',', pc4, municipality_code, province_code), ';' order by pc4)
            from pc4_regions
        ) as pc4_part,
        (
            select
                string_agg(
                    concat_ws(',', region_key, region_code, province_code), ';'
                    order by region_key, region_code
                )
            from region_keys
        ) as region_keys_part
),

final as (
    select md5(concat_ws('|', segments_part, industries_part, pc4_part, region_keys_part)) as reference_fingerprint
    from parts
)

select * from final
