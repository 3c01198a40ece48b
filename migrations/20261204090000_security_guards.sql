-- Security guards (issue 15): phase 2 must not trust what its subject can write.
-- Privileged = a superuser or BYPASSRLS role (service_role, Supabase's postgres), a role with the
-- rights of the table's owner, or an admin (private.is_admin()). Everyone else (a partner over
-- PostgREST: role authenticated) gets insufficient_privilege and the row is unchanged.
set local lock_timeout = '5s';

-- Not security definer: it must see the caller's role, not its owner's.
create or replace function private.is_privileged(target regclass) returns boolean
language sql
stable
set search_path = ''
as $$
    select
        exists (
            select 1 from pg_catalog.pg_roles as r
            where r.rolname = current_user and (r.rolsuper or r.rolbypassrls)
        )
        or pg_catalog.pg_has_role(
            current_user, (select c.relowner from pg_catalog.pg_class as c where c.oid = target), 'usage'
        )
        or (select private.is_admin())
$$;

revoke all on function private.is_privileged(regclass) from public;

grant execute on function private.is_privileged(regclass) to authenticated, service_role;

-- 1. profiles: is_admin and routing_priority (when the platform has it) decide rights and routing.
do $guard$
declare
    columns text := case
        when exists (
            select 1 from pg_catalog.pg_attribute
            where attrelid = 'public.profiles'::regclass and attname = 'routing_priority' and not attisdropped
        ) then 'is_admin or routing_priority'
        else 'is_admin'
    end;
    on_insert text := case
        when columns = 'is_admin' then 'new.is_admin'
        else 'new.is_admin or coalesce(new.routing_priority, 0) <> 0'
    end;
    on_update text := case
        when columns = 'is_admin' then 'new.is_admin is distinct from old.is_admin'
        else '(new.is_admin, new.routing_priority) is distinct from (old.is_admin, old.routing_priority)'
    end;
begin
    execute format($fn$
        create or replace function private.profiles_guard_privileged_columns() returns trigger
        language plpgsql
        set search_path = ''
        as $$
        begin
            if private.is_privileged(tg_relid) then
                return new;
            end if;
            if (tg_op = 'INSERT' and (%1$s)) or (tg_op = 'UPDATE' and (%2$s)) then
                raise exception 'only service_role, the table owner or an admin may set profiles.%3$s'
                    using errcode = 'insufficient_privilege', table = tg_table_name, schema = tg_table_schema;
            end if;
            return new;
        end
        $$
    $fn$, on_insert, on_update, replace(columns, ' or ', ' or profiles.'));
end
$guard$;

revoke all on function private.profiles_guard_privileged_columns() from public;

drop trigger if exists profiles_guard_privileged_columns on public.profiles;

create trigger profiles_guard_privileged_columns
before insert or update on public.profiles
for each row execute function private.profiles_guard_privileged_columns();

-- 2. System-owned columns: counters, totals and published_at come from the platform and the ad
-- APIs. A partner's content edit of a live page sends it back to review (an admin re-publishes).
create or replace function private.partner_landing_pages_guard() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if private.is_privileged(tg_relid) then
        return new;
    end if;
    if tg_op = 'INSERT' then
        if new.views_count <> 0 or new.conversions_count <> 0 or new.published_at is not null then
            raise exception 'views_count, conversions_count and published_at are set by the platform, not by a partner'
                using errcode = 'insufficient_privilege', table = tg_table_name, schema = tg_table_schema;
        end if;
        return new;
    end if;
    if new.views_count is distinct from old.views_count
        or new.conversions_count is distinct from old.conversions_count
        or new.published_at is distinct from old.published_at then
        raise exception 'views_count, conversions_count and published_at are set by the platform, not by a partner'
            using errcode = 'insufficient_privilege', table = tg_table_name, schema = tg_table_schema;
    end if;
    if old.status = 'live' and new.status = 'live' and (
        new.path, new.segment_id, new.title, new.subtitle, new.seo_title, new.seo_description, new.content_json
    ) is distinct from (
        old.path, old.segment_id, old.title, old.subtitle, old.seo_title, old.seo_description, old.content_json
    ) then
        new.status := 'review';
    end if;
    return new;
end
$$;

revoke all on function private.partner_landing_pages_guard() from public;

drop trigger if exists partner_landing_pages_guard on public.partner_landing_pages;

-- named to fire before partner_landing_pages_workflow (triggers fire in name order)
create trigger partner_landing_pages_guard
before insert or update on public.partner_landing_pages
for each row execute function private.partner_landing_pages_guard();

create or replace function private.partner_marketing_campaigns_guard() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if private.is_privileged(tg_relid) then
        return new;
    end if;
    if (tg_op = 'INSERT' and (
        new.total_spend <> 0 or new.total_clicks <> 0 or new.total_impressions <> 0 or new.total_leads <> 0
    )) or (tg_op = 'UPDATE' and (new.total_spend, new.total_clicks, new.total_impressions, new.total_leads)
        is distinct from (old.total_spend, old.total_clicks, old.total_impressions, old.total_leads)) then
        raise exception 'campaign totals (spend, clicks, impressions, leads) are synced from the ad platforms, not set by a partner'
            using errcode = 'insufficient_privilege', table = tg_table_name, schema = tg_table_schema;
    end if;
    return new;
end
$$;

revoke all on function private.partner_marketing_campaigns_guard() from public;

drop trigger if exists partner_marketing_campaigns_guard on public.partner_marketing_campaigns;

create trigger partner_marketing_campaigns_guard
before insert or update on public.partner_marketing_campaigns
for each row execute function private.partner_marketing_campaigns_guard();

-- One live page per path across partners (only admins set pages live, so only they see the error).
drop index if exists public.partner_landing_pages_live_path_idx;

create unique index partner_landing_pages_live_path_key on public.partner_landing_pages (path)
where status = 'live';

-- External campaign ids per partner and channel: the same id under two partners is reported to
-- admins by the data-quality test assert_external_campaign_ids_unique_across_partners, never
-- revealed to a partner by a duplicate-key error.
drop index if exists public.partner_marketing_campaigns_channel_external_id_key;

create unique index partner_marketing_campaigns_partner_channel_external_id_key
on public.partner_marketing_campaigns (partner_id, channel, external_campaign_id)
where external_campaign_id is not null;

-- Plans (targets and budgets) are the platform's: admins and service_role only.
drop policy if exists lead_segment_plans_read_active on public.lead_segment_plans;

-- A partner links itself (and its pages and campaigns) only to active segments (foreign keys
-- ignore RLS; this check does not). No segment (pages, campaigns) is fine.
create or replace function private.is_linkable_segment(segment uuid) returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select segment is null or exists (
        select 1 from public.lead_segments as s where s.id = segment and s.is_active
    )
$$;

revoke all on function private.is_linkable_segment(uuid) from public;

grant execute on function private.is_linkable_segment(uuid) to authenticated, service_role;

do $$
declare
    t text;
begin
    foreach t in array array['partner_segments', 'partner_landing_pages', 'partner_marketing_campaigns'] loop
        execute format('drop policy if exists %I on public.%I', t || '_own_insert', t);
        execute format('drop policy if exists %I on public.%I', t || '_own_update', t);
        execute format(
            'create policy %I on public.%I for insert to authenticated with check ('
            '(select auth.uid()) = partner_id and private.is_linkable_segment(segment_id))',
            t || '_own_insert', t
        );
        execute format(
            'create policy %I on public.%I for update to authenticated using ((select auth.uid()) = partner_id) '
            'with check ((select auth.uid()) = partner_id and private.is_linkable_segment(segment_id))',
            t || '_own_update', t
        );
    end loop;
end
$$;

-- 3. Input limits (named constraints). NaN and +-Infinity pass every ">= 0": refuse them.
-- Added NOT VALID, then validated: rows that already break a rule stay (nothing is lost) and the
-- migration says which constraint to validate once they are fixed.
alter table public.profiles
drop constraint if exists profiles_logo_url_check,
add constraint profiles_logo_url_check
check (logo_url ~ '^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[!-~]*)?$' and octet_length(logo_url) <= 2048) not valid,
add constraint profiles_monthly_marketing_budget_finite_check
check (monthly_marketing_budget < 'Infinity'::numeric) not valid;

alter table public.lead_segment_plans
add constraint lead_segment_plans_budget_finite_check check (budget < 'Infinity'::numeric) not valid;

alter table public.partner_landing_pages
drop constraint if exists partner_landing_pages_path_check,
add constraint partner_landing_pages_path_check
check (path ~ '^/([a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*)*)?$' and octet_length(path) <= 200) not valid,
add constraint partner_landing_pages_title_length_check check (char_length(title) <= 200) not valid,
add constraint partner_landing_pages_subtitle_length_check check (char_length(subtitle) <= 300) not valid,
add constraint partner_landing_pages_seo_title_length_check check (char_length(seo_title) <= 120) not valid,
add constraint partner_landing_pages_seo_description_length_check
check (char_length(seo_description) <= 320) not valid,
add constraint partner_landing_pages_content_json_size_check
check (octet_length(content_json::text) <= 262144) not valid;

alter table public.partner_marketing_campaigns
add constraint partner_marketing_campaigns_name_length_check check (char_length(name) <= 200) not valid,
add constraint partner_marketing_campaigns_external_campaign_id_length_check
check (char_length(external_campaign_id) <= 200) not valid,
add constraint partner_marketing_campaigns_daily_budget_finite_check
check (daily_budget < 'Infinity'::numeric) not valid,
add constraint partner_marketing_campaigns_monthly_budget_finite_check
check (monthly_budget < 'Infinity'::numeric) not valid,
add constraint partner_marketing_campaigns_cpl_target_finite_check
check (cpl_target < 'Infinity'::numeric) not valid,
add constraint partner_marketing_campaigns_total_spend_finite_check
check (total_spend < 'Infinity'::numeric) not valid;

do $$
declare
    c record;
begin
    for c in
        select con.conrelid::regclass as tbl, con.conname
        from pg_catalog.pg_constraint as con
        where not con.convalidated and con.contype = 'c'
            and con.conrelid in (
                'public.profiles'::regclass, 'public.lead_segment_plans'::regclass,
                'public.partner_landing_pages'::regclass, 'public.partner_marketing_campaigns'::regclass
            )
    loop
        begin
            execute format('alter table %s validate constraint %I', c.tbl, c.conname);
        exception when check_violation then
            raise warning 'existing rows of % break %: new rows are checked; fix them, then run: alter table % validate constraint %',
                c.tbl, c.conname, c.tbl, c.conname;
        end;
    end loop;
end
$$;

-- 5. What anon has no business with on the existing platform (DESIGN.md allows these revokes).
-- The flows refresh the MV as its owner; nobody over the API needs to.
do $$
begin
    if to_regprocedure('public.refresh_partner_performance_stats()') is not null then
        revoke execute on function public.refresh_partner_performance_stats() from public, anon, authenticated;
    end if;
    if to_regclass('public.partner_performance_stats') is not null then
        revoke select on public.partner_performance_stats from anon;
    end if;
    if to_regclass('public.lead_routing_candidates') is not null then
        revoke select on public.lead_routing_candidates from anon;
    end if;
end
$$;
