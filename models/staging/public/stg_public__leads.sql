-- A plain projection (no joins, no aggregation), so predicates on created_at / updated_at of
-- the models reading it reach the indexes of public.leads.
with source as (
    select * from {{ source('public', 'leads') }}
),

final as (
    select
        id as lead_id,
        created_at,
        updated_at,
        industry_id,
        province,
        {{ normalize_key('province') }} as province_key,
        postcode,
        {{ parse_pc4('postcode') }} as postcode_pc4,
        city,
        status,
        partner_id,
        assigned_at,
        segment_id,
        -- what a lead's segment depends on: a lead keeps its segment while this is unchanged
        md5(
            coalesce(industry_id::text, '') || '|' || coalesce(postcode, '') || '|' || coalesce(province, '')
        ) as input_fingerprint
    from source
)

select * from final
