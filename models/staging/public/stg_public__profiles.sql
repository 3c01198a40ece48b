-- Profiles (users and partners): the columns of the source contract, cast to one type whatever
-- the platform's (macro source_column: regions and the optional lead_industries / lead_locations
-- always text[]), plus the phase-2 marketing columns of the migrations.
with source as (
    select * from {{ source('public', 'profiles') }}
),

renamed as (
    select
        {{ source_column('profiles', 'id') }} as partner_id,
        {{ source_column('profiles', 'is_admin') }} as is_admin,
        {{ source_column('profiles', 'primary_branch') }} as primary_branch,
        {{ source_column('profiles', 'regions') }} as regions,
        {{ source_column('profiles', 'max_open_leads') }} as max_open_leads,
        {{ source_column('profiles', 'is_active_for_routing') }} as is_active_for_routing,
        {{ source_column('profiles', 'lead_industries') }} as lead_industries,
        {{ source_column('profiles', 'lead_locations') }} as lead_locations,
        {{ source_column('profiles', 'marketing_mode') }} as marketing_mode,
        {{ source_column('profiles', 'auto_marketing_enabled') }} as auto_marketing_enabled,
        {{ source_column('profiles', 'monthly_marketing_budget') }} as monthly_marketing_budget,
        {{ source_column('profiles', 'preferred_channels') }} as preferred_channels,
        {{ source_column('profiles', 'brand_color') }} as brand_color,
        {{ source_column('profiles', 'logo_url') }} as logo_url,
        {{ source_column('profiles', 'tone_of_voice') }} as tone_of_voice
    from source
),

final as (
    select
        partner_id,
        is_admin,
        primary_branch,
        {{ normalize_key('primary_branch') }} as primary_branch_key,
        regions,
        -- outside 0..max_open_leads_max it is one tenant's absurd value: kept out of every sum (NULL
        -- counts 0) and listed by the warn-level test assert_no_quarantined_source_values
        case
            when max_open_leads between 0 and {{ var('max_open_leads_max') }} then max_open_leads::integer
        end as max_open_leads,
        is_active_for_routing,
        lead_industries,
        lead_locations,
        marketing_mode,
        auto_marketing_enabled,
        monthly_marketing_budget,
        preferred_channels,
        brand_color,
        logo_url,
        tone_of_voice
    from renamed
)

select * from final
