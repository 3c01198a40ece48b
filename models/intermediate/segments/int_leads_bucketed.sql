-- The ONE place lead statuses become reporting buckets (seed lead_status_buckets); a status
-- the seed does not list is `other`. A view: filters on created_at reach the index.
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
        leads.status,
        coalesce(status_buckets.bucket, 'other') as status_bucket
    from leads
    left join status_buckets on leads.status = status_buckets.status
)

select * from final
