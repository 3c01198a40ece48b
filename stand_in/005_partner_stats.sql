-- The existing router's objects: the partner stats MV, its refresh RPC and the candidates view.
-- (A stand-in of production's definitions; the project's own rules live in dbt.) Their shape
-- follows the variant settings of 004_tables.sql.
do $$
declare
    partner_column text := pg_temp.standin_setting('partner_column', 'partner_id');
    full_mv boolean := pg_temp.standin_setting('mv_columns', 'full') = 'full';
    extras boolean := pg_temp.standin_setting('profile_extras', 'on') = 'on';
    regions_text boolean := (
        select format_type(a.atttypid, a.atttypmod) = 'text'
        from pg_catalog.pg_attribute as a
        where a.attrelid = 'public.profiles'::regclass and a.attname = 'regions'
    );
    recent text;
begin
    if partner_column = 'none' then
        -- no assigned partner on the lead: the platform counts nothing per partner here
        recent := $sql$
            select
                null::uuid as partner_id, 0 as leads_assigned_30d, 0 as leads_accepted_30d,
                0 as leads_rejected_30d, 0 as open_leads_count, null::timestamptz as last_assigned_at
            where false
        $sql$;
    else
        recent := format($sql$
            select
                l.%1$I as partner_id,
                count(*) filter (where l.assigned_at >= now() - interval '30 days') as leads_assigned_30d,
                count(*) filter (
                    where l.assigned_at >= now() - interval '30 days' and l.status = 'accepted'
                ) as leads_accepted_30d,
                count(*) filter (
                    where l.assigned_at >= now() - interval '30 days' and l.status = 'rejected'
                ) as leads_rejected_30d,
                count(*) filter (where l.status in ('new', 'pending')) as open_leads_count,
                max(l.assigned_at) as last_assigned_at
            from public.leads as l
            where l.%1$I is not null
            group by l.%1$I
        $sql$, partner_column);
    end if;

    execute format($ddl$
        create materialized view public.partner_performance_stats as
        with recent as (%s)
        select
            p.id as partner_id,
            coalesce(r.leads_assigned_30d, 0)::integer as leads_assigned_30d,
            coalesce(r.leads_accepted_30d, 0)::integer as leads_accepted_30d,
            %s
            round(r.leads_accepted_30d::numeric / nullif(r.leads_assigned_30d, 0), 4) as conversion_rate_30d,
            coalesce(r.open_leads_count, 0)%s as open_leads_count
            %s
        from public.profiles as p
        left join recent as r on r.partner_id = p.id
        where not p.is_admin
    $ddl$,
        recent,
        case when full_mv then 'coalesce(r.leads_rejected_30d, 0)::integer as leads_rejected_30d,' else '' end,
        -- a real count(*) is bigint; the full stand-in has always cast it to integer
        case when full_mv then '::integer' else '' end,
        case when full_mv then ', r.last_assigned_at, now() as refreshed_at' else '' end
    );

    -- Leads still new, with every active partner whose branch and region fields name them (raw
    -- text equality, as the existing router does), scored from the MV.
    execute format($ddl$
        create view public.lead_routing_candidates as
        select
            l.id as lead_id,
            l.created_at as lead_created_at,
            l.industry_id,
            i.name as industry_name,
            l.province,
            l.postcode,
            p.id as partner_id,
            p.routing_priority,
            p.max_open_leads,
            coalesce(s.open_leads_count, 0) as open_leads_count,
            greatest(coalesce(p.max_open_leads, 0) - coalesce(s.open_leads_count, 0), 0) as free_slots,
            s.conversion_rate_30d
        from public.leads as l
        inner join public.industries as i on i.id = l.industry_id
        inner join public.profiles as p
            on p.is_active_for_routing
            and not p.is_admin
            and (i.name = p.primary_branch %s)
            and (l.province = any(%s) %s)
        left join public.partner_performance_stats as s on s.partner_id = p.id
        where l.status = 'new'
    $ddl$,
        case when extras then 'or i.name = any(p.lead_industries)' else '' end,
        case when regions_text then 'string_to_array(p.regions, '','')' else 'p.regions' end,
        case when extras then 'or l.province = any(p.lead_locations)' else '' end
    );
end
$$;

create unique index partner_performance_stats_partner_id_idx
on public.partner_performance_stats (partner_id);

create function public.refresh_partner_performance_stats() returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    refresh materialized view concurrently public.partner_performance_stats;
end
$$;
