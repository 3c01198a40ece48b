-- Routable (active, non-admin) partners x active segments: explicit active partner_segments
-- links, plus the profile match (a partner branch equals the segment's branch and a partner
-- region is the segment's region or its province). Each partner once per segment.
with segments as (
    select * from {{ ref('stg_public__lead_segments') }}
    where is_active
),

partners as (
    select * from {{ ref('stg_public__profiles') }}
    where is_active_for_routing and not is_admin
),

links as (
    select * from {{ ref('stg_public__partner_segments') }}
    where is_active
),

regions as (
    select * from {{ ref('int_regions') }}
),

partner_branches as (
    select * from {{ ref('int_partner_branches') }}
),

partner_regions as (
    select * from {{ ref('int_partner_regions') }}
),

explicit_matches as (
    select distinct
        links.partner_id,
        links.segment_id
    from links
    inner join segments on links.segment_id = segments.segment_id
    inner join partners on links.partner_id = partners.partner_id
),

profile_matches as (
    select distinct
        partner_branches.partner_id,
        segments.segment_id
    from segments
    inner join regions on segments.region_code = regions.region_code
    inner join partner_branches on segments.branch = partner_branches.branch
    inner join partner_regions
        on
            partner_branches.partner_id = partner_regions.partner_id
            and partner_regions.region_code in (segments.region_code, regions.province_code)
),

combined as (
    select
        coalesce(explicit_matches.partner_id, profile_matches.partner_id) as partner_id,
        coalesce(explicit_matches.segment_id, profile_matches.segment_id) as segment_id,
        case
            when explicit_matches.partner_id is null then 'profile'
            when profile_matches.partner_id is null then 'explicit'
            else 'both'
        end as match_source
    from explicit_matches
    full outer join profile_matches
        on
            explicit_matches.partner_id = profile_matches.partner_id
            and explicit_matches.segment_id = profile_matches.segment_id
),

final as (
    select
        combined.segment_id,
        combined.partner_id,
        segments.branch,
        segments.region_code,
        combined.match_source
    from combined
    inner join segments on combined.segment_id = segments.segment_id
)

select * from final
