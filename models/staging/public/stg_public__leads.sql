-- The columns of the source contract only, cast to one type whatever the platform's (macro
-- source_column). A plain projection (no joins, no aggregation), so predicates on created_at /
-- updated_at of the models reading it reach the indexes of public.leads.
with source as (
    select * from {{ source('public', 'leads') }}
),

renamed as (
    select
        {{ source_column('leads', 'id') }} as lead_id,
        {{ source_column('leads', 'created_at') }} as created_at,
        {{ source_column('leads', 'updated_at') }} as updated_at,
        {{ source_column('leads', 'industry_id') }} as industry_id,
        {{ source_column('leads', 'province') }} as province,
        {{ source_column('leads', 'postcode') }} as postcode,
        {{ source_column('leads', 'city') }} as city,
        {{ source_column('leads', 'status') }} as status,
        {{ source_column('leads', 'partner_id') }} as assigned_partner_id,
        {{ source_column('leads', 'segment_id') }} as segment_id
    from source
),

final as (
    select
        lead_id,
        created_at,
        updated_at,
        industry_id,
        province,
        {{ normalize_key('province') }} as province_key,
        postcode,
        {{ parse_pc4('postcode') }} as postcode_pc4,
        city,
        status,
        assigned_partner_id,
        segment_id,
        -- what a lead's segment depends on: a lead keeps its segment while this is unchanged
        md5(coalesce(industry_id, '') || '|' || coalesce(postcode, '') || '|' || coalesce(province, ''))
            as input_fingerprint
    from renamed
    -- a creation time outside the sane range (e.g. '-infinity') would make the day grids unbounded:
    -- such a lead is quarantined, listed by the warn-level test assert_no_quarantined_source_values
    where
        created_at >= '{{ var("lead_created_at_min") }}'::timestamptz
        and created_at < '{{ var("lead_created_at_max") }}'::timestamptz
)

select * from final
