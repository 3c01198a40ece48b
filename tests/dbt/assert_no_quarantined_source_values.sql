-- Data quality (warn: it never stops the night): the source rows kept out of the marts because a
-- value is outside its sane range (dbt vars max_open_leads_max, lead_created_at_min/_max).
{{ config(severity='warn') }}

with leads as (
    select * from {{ source('public', 'leads') }}
),

profiles as (
    select * from {{ source('public', 'profiles') }}
),

final as (
    select
        'public.leads' as source_table,
        leads.id::text as row_id,
        'created_at = ' || coalesce(leads.created_at::text, 'NULL') as reason
    from leads
    where
        leads.created_at is null
        or leads.created_at < '{{ var("lead_created_at_min") }}'::timestamptz
        or leads.created_at >= '{{ var("lead_created_at_max") }}'::timestamptz
    union all
    select
        'public.profiles' as source_table,
        profiles.id::text as row_id,
        'max_open_leads = ' || profiles.max_open_leads::text as reason
    from profiles
    where profiles.max_open_leads not between 0 and {{ var('max_open_leads_max') }}
)

select * from final
