-- Partner landing pages, with their status workflow enforced in the database.

create table public.partner_landing_pages (
    id uuid primary key default gen_random_uuid(),
    partner_id uuid not null references public.profiles (id) on delete cascade,
    segment_id uuid references public.lead_segments (id) on delete set null,
    path text not null,
    status text not null default 'concept',
    source text not null default 'manual',
    title text,
    subtitle text,
    seo_title text,
    seo_description text,
    content_json jsonb not null default '{}',
    views_count integer not null default 0,
    conversions_count integer not null default 0,
    published_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint partner_landing_pages_path_check
    check (path ~ '^/[^\s]*$' and char_length(path) <= 512),
    constraint partner_landing_pages_status_check
    check (status in ('concept', 'review', 'live', 'archived')),
    constraint partner_landing_pages_source_check
    check (source in ('ai_generated', 'manual', 'template')),
    constraint partner_landing_pages_content_json_check check (jsonb_typeof(content_json) = 'object'),
    constraint partner_landing_pages_views_count_check check (views_count >= 0),
    constraint partner_landing_pages_conversions_count_check check (conversions_count >= 0),
    -- (PostgreSQL tests checks in name order: "views_count" sorts before "views_ge", so a
    -- negative views_count is reported as such)
    constraint partner_landing_pages_views_ge_conversions_check check (conversions_count <= views_count),
    constraint partner_landing_pages_partner_path_key unique (partner_id, path)
);

comment on table public.partner_landing_pages is 'Partner landing pages; status concept -> review -> live -> archived (trigger partner_landing_pages_workflow).';

-- (partner_id, path) is served by the unique key; segment foreign key; status filters;
-- public path lookup of live pages.
create index partner_landing_pages_segment_id_idx on public.partner_landing_pages (segment_id);

create index partner_landing_pages_status_idx on public.partner_landing_pages (status, partner_id);

create index partner_landing_pages_live_path_idx on public.partner_landing_pages (path)
where status = 'live';

select private.add_updated_at_trigger('public.partner_landing_pages');

-- The workflow: concept -> review -> live -> archived, review -> concept, live -> review.
-- New pages start as concept or review, except when an admin or service_role (or the table
-- owner: migrations, the demo generator) inserts them: those may insert any status, e.g. imports.
-- Only an admin or service_role may set a page live. published_at is set when a page goes live.
create or replace function private.partner_landing_pages_workflow() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    allowed text[];
    is_privileged boolean := current_user not in ('anon', 'authenticated') or (select private.is_admin());
begin
    if new.status not in ('concept', 'review', 'live', 'archived') then
        return new;  -- an unknown status: partner_landing_pages_status_check refuses it
    end if;

    if tg_op = 'INSERT' then
        if new.status not in ('concept', 'review') and not is_privileged then
            raise exception 'a new landing page starts as concept or review, not %', new.status
                using errcode = 'check_violation', constraint = 'partner_landing_pages_status_workflow',
                      table = tg_table_name, schema = tg_table_schema;
        end if;
        if new.status = 'live' then
            new.published_at := coalesce(new.published_at, now());
        end if;
        return new;
    end if;

    if new.status is distinct from old.status then
        allowed := case old.status
            when 'concept' then array['review']
            when 'review' then array['live', 'concept']
            when 'live' then array['archived', 'review']
            else array[]::text[]
        end;
        if not new.status = any(allowed) then
            raise exception 'landing page status cannot go from % to % (allowed: %)',
                old.status, new.status,
                coalesce(nullif(array_to_string(allowed, ', '), ''), 'none, archived is final')
                using errcode = 'check_violation', constraint = 'partner_landing_pages_status_workflow',
                      table = tg_table_name, schema = tg_table_schema;
        end if;
        if new.status = 'live' then
            if not is_privileged then
                raise exception 'only an admin or service_role may set a landing page live'
                    using errcode = 'insufficient_privilege',
                          constraint = 'partner_landing_pages_status_workflow',
                          table = tg_table_name, schema = tg_table_schema;
            end if;
            new.published_at := now();
        end if;
    end if;
    return new;
end
$$;

revoke all on function private.partner_landing_pages_workflow() from public;

create trigger partner_landing_pages_workflow
before insert or update of status on public.partner_landing_pages
for each row execute function private.partner_landing_pages_workflow();

-- Security: a partner reads and changes only its own pages; admins all; anon nothing.
alter table public.partner_landing_pages enable row level security;

revoke all on table public.partner_landing_pages from anon, authenticated;

grant select, insert, update, delete on table public.partner_landing_pages to authenticated;

grant all on table public.partner_landing_pages to service_role;

create policy partner_landing_pages_own_select on public.partner_landing_pages
for select to authenticated
using ((select auth.uid()) = partner_id);

create policy partner_landing_pages_own_insert on public.partner_landing_pages
for insert to authenticated
with check ((select auth.uid()) = partner_id);

create policy partner_landing_pages_own_update on public.partner_landing_pages
for update to authenticated
using ((select auth.uid()) = partner_id)
with check ((select auth.uid()) = partner_id);

create policy partner_landing_pages_own_delete on public.partner_landing_pages
for delete to authenticated
using ((select auth.uid()) = partner_id);

create policy partner_landing_pages_admin_all on public.partner_landing_pages
for all to authenticated
using ((select private.is_admin()))
with check ((select private.is_admin()));
