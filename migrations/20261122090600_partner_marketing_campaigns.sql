-- Partner marketing campaigns (Google Ads, Meta Ads, ...) with their running totals.

create table public.partner_marketing_campaigns (
    id uuid primary key default gen_random_uuid(),
    partner_id uuid not null references public.profiles (id) on delete cascade,
    segment_id uuid references public.lead_segments (id) on delete set null,
    channel text not null,
    external_campaign_id text,
    name text,
    status text not null default 'planned',
    daily_budget numeric(12, 2),
    monthly_budget numeric(12, 2),
    cpl_target numeric(12, 2),
    ai_managed boolean not null default false,
    total_spend numeric(14, 2) not null default 0,
    total_clicks bigint not null default 0,
    total_impressions bigint not null default 0,
    total_leads integer not null default 0,
    -- cost per lead, derived by the database; NULL while there are no leads
    avg_cpl numeric(12, 2) generated always as (
        case when total_leads > 0 then round(total_spend / total_leads, 2) end
    ) stored,
    started_at timestamptz,
    ended_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint partner_marketing_campaigns_channel_check check (
        channel in ('google_ads', 'meta_ads', 'linkedin_ads', 'microsoft_ads', 'tiktok_ads', 'other')
    ),
    constraint partner_marketing_campaigns_status_check
    check (status in ('planned', 'active', 'paused', 'archived')),
    constraint partner_marketing_campaigns_external_campaign_id_check
    check (btrim(external_campaign_id) <> ''),
    constraint partner_marketing_campaigns_daily_budget_check check (daily_budget >= 0),
    constraint partner_marketing_campaigns_monthly_budget_check check (monthly_budget >= 0),
    constraint partner_marketing_campaigns_cpl_target_check check (cpl_target >= 0),
    constraint partner_marketing_campaigns_total_spend_check check (total_spend >= 0),
    constraint partner_marketing_campaigns_total_clicks_check check (total_clicks >= 0),
    constraint partner_marketing_campaigns_total_impressions_check check (total_impressions >= 0),
    constraint partner_marketing_campaigns_total_leads_check check (total_leads >= 0),
    -- (named to sort after total_impressions_check: checks are tested in name order)
    constraint partner_marketing_campaigns_total_impressions_ge_clicks_check
    check (total_clicks <= total_impressions),
    constraint partner_marketing_campaigns_period_check check (ended_at >= started_at)
);

comment on table public.partner_marketing_campaigns is 'Partner campaigns per channel; totals synced from the ad platforms; avg_cpl derived.';

-- one campaign per external id per channel, when an external id is given
create unique index partner_marketing_campaigns_channel_external_id_key
on public.partner_marketing_campaigns (channel, external_campaign_id)
where external_campaign_id is not null;

create index partner_marketing_campaigns_partner_id_idx on public.partner_marketing_campaigns (partner_id);

create index partner_marketing_campaigns_segment_id_idx on public.partner_marketing_campaigns (segment_id);

create index partner_marketing_campaigns_status_idx
on public.partner_marketing_campaigns (status, partner_id);

select private.add_updated_at_trigger('public.partner_marketing_campaigns');

-- Security: a partner reads and changes only its own campaigns; admins all; anon nothing.
alter table public.partner_marketing_campaigns enable row level security;

revoke all on table public.partner_marketing_campaigns from anon, authenticated;

grant select, insert, update, delete on table public.partner_marketing_campaigns to authenticated;

grant all on table public.partner_marketing_campaigns to service_role;

create policy partner_marketing_campaigns_own_select on public.partner_marketing_campaigns
for select to authenticated
using ((select auth.uid()) = partner_id);

create policy partner_marketing_campaigns_own_insert on public.partner_marketing_campaigns
for insert to authenticated
with check ((select auth.uid()) = partner_id);

create policy partner_marketing_campaigns_own_update on public.partner_marketing_campaigns
for update to authenticated
using ((select auth.uid()) = partner_id)
with check ((select auth.uid()) = partner_id);

create policy partner_marketing_campaigns_own_delete on public.partner_marketing_campaigns
for delete to authenticated
using ((select auth.uid()) = partner_id);

create policy partner_marketing_campaigns_admin_all on public.partner_marketing_campaigns
for all to authenticated
using ((select private.is_admin()))
with check ((select private.is_admin()));
