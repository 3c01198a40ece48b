-- Every normalised spelling of a region -> its region_code. Province aliases and names win
-- over municipality names (Groningen, Utrecht: the free text most often means the province).
with provinces as (
    select * from {{ ref('region_provinces') }}
),

province_aliases as (
    select * from {{ ref('region_province_aliases') }}
),

municipalities as (
    select * from {{ ref('region_municipalities') }}
),

regions as (
    select * from {{ ref('int_regions') }}
),

spellings as (
    select
        {{ normalize_key('alias') }} as region_key,
        province_code as region_code,
        1 as preference
    from province_aliases

    union all

    select
        {{ normalize_key('province_name') }} as region_key,
        province_code as region_code,
        1 as preference
    from provinces

    union all

    select
        {{ normalize_key('province_code') }} as region_key,
        province_code as region_code,
        1 as preference
    from provinces

    union all

    select
        {{ normalize_key('municipality_name') }} as region_key,
        municipality_code as region_code,
        2 as preference
    from municipalities

    union all

    select
        {{ normalize_key('municipality_code') }} as region_key,
        municipality_code as region_code,
        2 as preference
    from municipalities
),

ranked as (
    select distinct on (region_key)
        region_key,
        region_code
    from spellings
    where region_key is not null
    order by region_key asc, preference asc, region_code asc
),

final as (
    select
        ranked.region_key,
        ranked.region_code,
        regions.region_type,
        regions.province_code
    from ranked
    inner join regions on ranked.region_code = regions.region_code
)

select * from final
