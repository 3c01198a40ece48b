-- Helpers for the phase-2 objects, in schema "private": Supabase's API does not expose it, so a
-- security definer function there cannot be called over the REST API (Supabase's advice).

create schema if not exists private;

revoke all on schema private from public;

grant usage on schema private to authenticated, service_role;

-- Is the caller (auth.uid()) an admin? security definer so that policies can read
-- profiles.is_admin without recursive row level security on profiles.
create or replace function private.is_admin() returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select coalesce(
        (select p.is_admin from public.profiles as p where p.id = (select auth.uid())),
        false
    )
$$;

revoke all on function private.is_admin() from public;

grant execute on function private.is_admin() to authenticated, service_role;

-- updated_at: moddatetime where available (Supabase installs extensions in schema "extensions"),
-- else private.touch_updated_at() below. An extension that exists in any schema is used as is.
do $$
begin
    if not exists (select 1 from pg_catalog.pg_extension where extname = 'moddatetime') then
        begin
            create schema if not exists extensions;
            create extension moddatetime with schema extensions;
        exception when others then
            raise notice 'moddatetime is not available (%): updated_at uses private.touch_updated_at()', sqlerrm;
        end;
    end if;
end
$$;

-- The plpgsql fallback for servers without moddatetime.
create or replace function private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end
$$;

-- Adds the "handle_updated_at" trigger (Supabase's usual name) to a table, with moddatetime
-- from whichever schema holds the extension, or the fallback. Used by the table migrations.
create or replace function private.add_updated_at_trigger(target regclass) returns void
language plpgsql
set search_path = ''
as $$
declare
    moddatetime_schema text;
begin
    select n.nspname into moddatetime_schema
    from pg_catalog.pg_extension as e
    inner join pg_catalog.pg_namespace as n on n.oid = e.extnamespace
    where e.extname = 'moddatetime';

    if moddatetime_schema is not null then
        execute format(
            'create trigger handle_updated_at before update on %s for each row execute procedure %I.moddatetime(updated_at)',
            target, moddatetime_schema
        );
    else
        execute format(
            'create trigger handle_updated_at before update on %s for each row execute function private.touch_updated_at()',
            target
        );
    end if;
end
$$;

revoke all on function private.touch_updated_at() from public;

revoke all on function private.add_updated_at_trigger(regclass) from public;
