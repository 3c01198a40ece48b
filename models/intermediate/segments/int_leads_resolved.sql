-- Each lead with its branch, region and the most specific active segment, computed from the
-- lead's own fields only. A view without aggregation, so a filter on lead_id / updated_at /
-- created_at from the model reading it reaches the indexes of public.leads.
-- Region: the PC4 of the postcode (municipality, province) wins; else the free-text province
-- through int_region_keys. Segment: (branch, lead's region) before (branch, its province).
with leads as (
    select * from {{ ref('int_leads_bucketed') }}
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

active_segments as (
    select * from {{ ref('stg_public__lead_segments') }}
    where is_active
),

resolved as (
    select
        leads.lead_id,
        leads.industry_id,
        leads.created_at,
        leads.updated_at,
        leads.input_fingerprint,
        leads.status_bucket,
        leads.postcode_pc4,
        leads.province_key,
        industry_branches.branch,
        coalesce(pc4_regions.municipality_code, region_keys.region_code) as region_code,
        coalesce(pc4_regions.province_code, region_keys.province_code) as province_code,
        case
            when pc4_regions.pc4 is not null then 'postcode'
            when region_keys.region_code is not null then 'province'
        end as region_source,
        coalesce(pc4_regions.province_code <> region_keys.province_code, false) as is_region_conflict
    from leads
    left join industry_branches on leads.industry_id = industry_branches.industry_id
    left join pc4_regions on leads.postcode_pc4 = pc4_regions.pc4
    left join region_keys on leads.province_key = region_keys.region_key
),

final as (
    select
        resolved.lead_id,
        resolved.industry_id,
        resolved.created_at,
        resolved.updated_at,
        resolved.input_fingerprint,
        resolved.status_bucket,
        resolved.postcode_pc4,
        resolved.province_key,
        coalesce(region_segments.segment_id, province_segments.segment_id) as segment_id,
        resolved.branch,
        resolved.region_code,
        resolved.province_code,
        resolved.region_source,
        resolved.is_region_conflict,
        case
            when resolved.branch is null then 'unknown_industry'
            when resolved.region_code is null then 'no_region'
            when coalesce(region_segments.segment_id, province_segments.segment_id) is null
                then 'no_active_segment'
        end as unmatched_reason
    from resolved
    left join active_segments as region_segments
        on
            resolved.branch = region_segments.branch
            and resolved.region_code = region_segments.region_code
    left join active_segments as province_segments
        on
            resolved.branch = province_segments.branch
            and resolved.province_code = province_segments.region_code
)

select * from final
