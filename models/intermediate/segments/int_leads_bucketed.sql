-- The ONE place lead statuses become reporting buckets (seed lead_status_buckets); a status
-- the seed does not list is `other`. Every lead column of stg_public__leads plus its bucket; a
-- view joined only to the small seed, so filters on lead_id / created_at / updated_at of the
-- models reading it reach the indexes of public.leads.
with leads as (
    select * from {{ ref('stg_public__leads') }}
),

status_buckets as (
    select * from {{ ref('lead_status_buckets') }}
),

final as (
    select
        leads.lead_id,
        leads.created_at,
        leads.updated_at,
        leads.industry_id,
        leads.province,
        leads.province_key,
        leads.postcode,
        leads.postcode_pc4,
        leads.city,
        leads.status,
        leads.assigned_partner_id,
        leads.segment_id,
        leads.input_fingerprint,
        coalesce(status_buckets.bucket, 'other') as status_bucket
    from leads
    left join status_buckets on leads.status = status_buckets.status
)

select * from final
