-- bi_reader: the read-only role of the BI dashboards. It reads schema "analytics" (the dbt
-- marts) and nothing else. Roles are cluster-wide: created only when missing.
do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'bi_reader') then
        create role bi_reader nologin;
    end if;
end
$$;

create schema if not exists analytics;

grant usage on schema analytics to bi_reader;

grant select on all tables in schema analytics to bi_reader;

-- tables and views dbt creates later in analytics (as the role running this migration, which
-- is the role dbt uses in dev; dbt's grants config covers other setups)
alter default privileges in schema analytics grant select on tables to bi_reader;

-- nothing in public: no table privileges (the stand-in and Supabase grant public's tables to
-- their API roles only)
revoke all on all tables in schema public from bi_reader;
