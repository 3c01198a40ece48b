-- The partners of the marketing marts: every non-admin profile, with its marketing profile.
with

profiles as (
    select * from {{ ref('stg_public__profiles') }}
),

final as (
    select
        partner_id,
        marketing_mode,
        auto_marketing_enabled as is_auto_marketing_enabled,
        monthly_marketing_budget
    from profiles
    where not is_admin
)

select * from final
