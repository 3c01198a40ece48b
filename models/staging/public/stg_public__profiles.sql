with source as (
    select * from {{ source('public', 'profiles') }}
),

final as (
    select
        id as partner_id,
        email,
        full_name,
        company_name,
        is_admin,
        primary_branch,
        {{ normalize_key('primary_branch') }} as primary_branch_key,
        {{ profile_regions_array('regions') }} as regions,
        max_open_leads,
        is_active_for_routing,
        routing_priority,
        lead_industries,
        lead_locations,
        marketing_mode,
        auto_marketing_enabled,
        monthly_marketing_budget,
        preferred_channels,
        brand_color,
        logo_url,
        tone_of_voice,
        created_at,
        updated_at
    from source
)

select * from final
