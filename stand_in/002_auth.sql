-- Schema auth as Supabase defines it (the parts the platform's SQL uses).
create schema if not exists auth;
-- Marks a stand-in database: `leadgen generate --fresh` deletes generated data only where it finds this.
comment on schema auth is 'leadgen stand-in of the Supabase platform (dev, demo and test databases only)';

create table if not exists auth.users (
    id uuid primary key default gen_random_uuid(),
    email text,
    created_at timestamptz not null default now()
);

-- Supabase's definitions: the newer JSON claims (request.jwt.claims) and the older
-- per-claim settings (request.jwt.claim.sub / request.jwt.claim.role).
create or replace function auth.uid() returns uuid
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;
grant all on auth.users to service_role;
