-- Industry -> branch slug (NULL when the industry name is not a known spelling).
with industries as (
    select * from {{ ref('stg_public__industries') }}
),

branch_keys as (
    select * from {{ ref('int_branch_keys') }}
),

final as (
    select
        industries.industry_id,
        industries.industry_name,
        branch_keys.branch
    from industries
    left join branch_keys on industries.industry_key = branch_keys.branch_key
)

select * from final
