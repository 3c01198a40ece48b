-- Explicit partner <-> segment links (next to the implicit match on the profile's fields).

create table public.partner_segments (
    id uuid primary key default gen_random_uuid(),
    partner_id uuid not null references public.profiles (id) on delete cascade,
    segment_id uuid not null references public.lead_segments (id) on delete cascade,
    is_primary boolean not null default false,
    priority integer not null default 0,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint partner_segments_priority_check check (priority >= 0)
);

comment on table public.partner_segments is 'Explicit partner-segment links; one active link per pair, at most one active primary per partner.';

-- one active link per partner + segment; inactive history rows may repeat
create unique index partner_segments_active_link_key on public.partner_segments (partner_id, segment_id)
where is_active;

-- at most one active primary segment per partner
create unique index partner_segments_one_primary_key on public.partner_segments (partner_id)
where is_active and is_primary;

-- foreign keys (every row, for the cascades) and the active links per segment (capacity)
create index partner_segments_partner_id_idx on public.partner_segments (partner_id);

create index partner_segments_segment_id_idx on public.partner_segments (segment_id);

create index partner_segments_active_segment_idx on public.partner_segments (segment_id, partner_id)
where is_active;

select private.add_updated_at_trigger('public.partner_segments');

-- Security: a partner reads and changes only its own links; admins all; anon nothing.
alter table public.partner_segments enable row level security;

revoke all on table public.partner_segments from anon, authenticated;

grant select, insert, update, delete on table public.partner_segments to authenticated;

grant all on table public.partner_segments to service_role;

create policy partner_segments_own_select on public.partner_segments
for select to authenticated
using ((select auth.uid()) = partner_id);

create policy partner_segments_own_insert on public.partner_segments
for insert to authenticated
with check ((select auth.uid()) = partner_id);

create policy partner_segments_own_update on public.partner_segments
for update to authenticated
using ((select auth.uid()) = partner_id)
with check ((select auth.uid()) = partner_id);

create policy partner_segments_own_delete on public.partner_segments
for delete to authenticated
using ((select auth.uid()) = partner_id);

create policy partner_segments_admin_all on public.partner_segments
for all to authenticated
using ((select private.is_admin()))
with check ((select private.is_admin()));
