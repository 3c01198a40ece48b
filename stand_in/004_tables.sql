-- The platform's tables: industries, profiles (users and partners), leads.

create table public.industries (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    created_at timestamptz not null default now()
);

-- profiles.regions: production has not said whether it is text[] or comma-separated text.
-- text[] by default; comma-separated text when the setting leadgen.regions_as_text is 'true'
-- (leadgen db init-stand-in --regions-as-text sets it for the transaction).
do $$
declare
    regions_type text := case
        when coalesce(current_setting('leadgen.regions_as_text', true), '') in ('true', 'on', '1')
            then 'text'
        else 'text[]'
    end;
begin
    execute format($ddl$
        create table public.profiles (
            id uuid primary key references auth.users (id) on delete cascade,
            email text,
            full_name text,
            company_name text,
            is_admin boolean not null default false,
            primary_branch text,
            regions %s,
            max_open_leads integer,
            is_active_for_routing boolean not null default true,
            routing_priority integer not null default 0,
            lead_industries text[],
            lead_locations text[],
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        )
    $ddl$, regions_type);
end
$$;

-- status is deliberately not constrained: production holds values beyond
-- new | pending | accepted | rejected | expired.
create table public.leads (
    id uuid primary key default gen_random_uuid(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    industry_id uuid references public.industries (id),
    province text,
    postcode text,
    city text,
    status text not null default 'new',
    partner_id uuid references public.profiles (id),
    assigned_at timestamptz,
    customer_name text,
    description text
);

create index leads_updated_at_idx on public.leads (updated_at);
create index leads_created_at_idx on public.leads (created_at);
create index leads_partner_id_status_idx on public.leads (partner_id, status);

create trigger handle_updated_at before update on public.profiles
for each row execute procedure extensions.moddatetime(updated_at);

create trigger handle_updated_at before update on public.leads
for each row execute procedure extensions.moddatetime(updated_at);
