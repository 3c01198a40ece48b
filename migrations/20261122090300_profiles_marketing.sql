-- The partner's marketing profile: new columns on profiles. Defaults are constants (catalog-only
-- change) and every check accepts the defaults and NULL, so existing rows stay valid.
set local lock_timeout = '5s';

alter table public.profiles
add column marketing_mode text not null default 'leads_only',
add column auto_marketing_enabled boolean not null default false,
add column monthly_marketing_budget numeric(12, 2),
add column preferred_channels text[] not null default '{}',
add column brand_color text,
add column logo_url text,
add column tone_of_voice text,
add constraint profiles_marketing_mode_check
check (marketing_mode in ('leads_only', 'hybrid', 'full_marketing')),
add constraint profiles_monthly_marketing_budget_check
check (monthly_marketing_budget >= 0),
add constraint profiles_preferred_channels_check
check (
    preferred_channels <@ array[
        'google_ads', 'meta_ads', 'linkedin_ads', 'microsoft_ads', 'tiktok_ads', 'seo', 'email', 'other'
    ]::text []
    and array_position(preferred_channels, null) is null
),
add constraint profiles_brand_color_check check (brand_color ~ '^#[0-9A-Fa-f]{6}$'),
add constraint profiles_logo_url_check check (logo_url ~* '^https?://[^\s/]+[^\s]*$'),
add constraint profiles_tone_of_voice_check check (char_length(tone_of_voice) <= 500);

comment on column public.profiles.marketing_mode is 'leads_only (default) | hybrid | full_marketing';
comment on column public.profiles.monthly_marketing_budget is 'EUR per month, >= 0; NULL = not set';
comment on column public.profiles.preferred_channels is 'Known channels only (see profiles_preferred_channels_check)';

-- filters of the marketing app: partners that do marketing, and those AI may act for
create index profiles_marketing_mode_idx on public.profiles (marketing_mode)
where marketing_mode <> 'leads_only';

create index profiles_auto_marketing_idx on public.profiles (id) where auto_marketing_enabled;
