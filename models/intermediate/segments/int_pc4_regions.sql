{{
    config(
        materialized='table',
        indexes=[{'columns': ['pc4'], 'unique': true}],
    )
}}
-- One row per existing PC4 (the seed's ranges expanded): an equality join for every lead.
with pc4_ranges as (
    select * from {{ ref('region_pc4_ranges') }}
),

municipalities as (
    select * from {{ ref('region_municipalities') }}
),

final as (
    select
        pc4.pc4,
        pc4_ranges.municipality_code,
        municipalities.province_code
    from pc4_ranges
    cross join lateral generate_series(pc4_ranges.pc4_from, pc4_ranges.pc4_to) as pc4 (pc4)
    inner join municipalities on pc4_ranges.municipality_code = municipalities.municipality_code
)

select * from final
