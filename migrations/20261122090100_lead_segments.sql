-- Lead segments (one branch in one region) and their plans (targets per period).
-- branch = a slug of seeds/branch_aliases.csv, region = a region_code of the region seeds.

create table public.lead_segments (
    id uuid primary key default gen_random_uuid(),
    branch text not null,
    region text not null,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lead_segments_branch_check check (branch ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    constraint lead_segments_region_check check (region ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    constraint lead_segments_branch_region_key unique (branch, region)
);

comment on table public.lead_segments is 'A branch (slug) in a region (region_code): every lead belongs to at most one.';

-- status filter: the active segments (assignment, capacity and the partner API read these)
create index lead_segments_active_idx on public.lead_segments (branch, region) where is_active;

create table public.lead_segment_plans (
    id uuid primary key default gen_random_uuid(),
    segment_id uuid not null references public.lead_segments (id) on delete cascade,
    period_start date not null,
    period_end date not null,
    target_leads integer not null default 0,
    budget numeric(12, 2) not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint lead_segment_plans_target_leads_check check (target_leads >= 0),
    constraint lead_segment_plans_budget_check check (budget >= 0),
    constraint lead_segment_plans_period_check check (period_end >= period_start),
    constraint lead_segment_plans_segment_period_key unique (segment_id, period_start)
);

comment on table public.lead_segment_plans is 'Target leads and budget per segment per period (inclusive dates).';

-- the unique key's leading column serves the foreign key; period lookups across segments:
create index lead_segment_plans_period_idx on public.lead_segment_plans (period_start, period_end);

select private.add_updated_at_trigger('public.lead_segments');

select private.add_updated_at_trigger('public.lead_segment_plans');

-- Security: partners read active segments and their plans; only admins (and service_role,
-- which bypasses RLS) write. anon: nothing.
alter table public.lead_segments enable row level security;

alter table public.lead_segment_plans enable row level security;

revoke all on table public.lead_segments, public.lead_segment_plans from anon, authenticated;

grant select, insert, update, delete on table public.lead_segments, public.lead_segment_plans to authenticated;

grant all on table public.lead_segments, public.lead_segment_plans to service_role;

create policy lead_segments_read_active on public.lead_segments
for select to authenticated
using (is_active);

create policy lead_segments_admin_all on public.lead_segments
for all to authenticated
using ((select private.is_admin()))
with check ((select private.is_admin()));

create policy lead_segment_plans_read_active on public.lead_segment_plans
for select to authenticated
using (
    exists (
        select 1 from public.lead_segments as s
        where s.id = lead_segment_plans.segment_id and s.is_active
    )
);

create policy lead_segment_plans_admin_all on public.lead_segment_plans
for all to authenticated
using ((select private.is_admin()))
with check ((select private.is_admin()));
