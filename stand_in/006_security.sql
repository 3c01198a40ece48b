-- Supabase's grants and the platform's row level security.

grant usage on schema public to anon, authenticated, service_role;

-- Supabase grants table privileges broadly and lets RLS decide; new objects in public get the same.
grant all on all tables in schema public to anon, authenticated, service_role;
grant all on all sequences in schema public to anon, authenticated, service_role;
grant all on all functions in schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

alter table public.industries enable row level security;
alter table public.profiles enable row level security;
alter table public.leads enable row level security;

create policy industries_read on public.industries
for select to authenticated using (true);

create policy profiles_own_select on public.profiles
for select to authenticated using ((select auth.uid()) = id);

create policy profiles_own_update on public.profiles
for update to authenticated using ((select auth.uid()) = id) with check ((select auth.uid()) = id);

-- A partner reads and updates the leads assigned to it (none when the variant has no such column).
do $$
declare
    partner_column text := pg_temp.standin_setting('partner_column', 'partner_id');
begin
    if partner_column <> 'none' then
        execute format(
            'create policy leads_partner_select on public.leads for select to authenticated '
            'using ((select auth.uid()) = %I)', partner_column
        );
        execute format(
            'create policy leads_partner_update on public.leads for update to authenticated '
            'using ((select auth.uid()) = %1$I) with check ((select auth.uid()) = %1$I)', partner_column
        );
    end if;
end
$$;
