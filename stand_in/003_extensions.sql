-- Supabase installs extensions into schema "extensions"; moddatetime keeps updated_at current.
create schema if not exists extensions;
create extension if not exists moddatetime with schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;
