-- The existing router's objects: the partner stats MV, its refresh RPC and the candidates view.
-- (A stand-in of production's definitions; the project's own rules live in dbt.)

create materialized view public.partner_performance_stats as
with recent as (
    select
        l.partner_id,
        count(*) filter (
            where l.assigned_at >= now() - interval '30 days'
        ) as leads_assigned_30d,
        count(*) filter (
            where l.assigned_at >= now() - interval '30 days' and l.status = 'accepted'
        ) as leads_accepted_30d,
        count(*) filter (
            where l.assigned_at >= now() - interval '30 days' and l.status = 'rejected'
        ) as leads_rejected_30d,
        count(*) filter (where l.status in ('new', 'pending')) as open_leads_count,
        max(l.assigned_at) as last_assigned_at
    from public.leads as l
    where l.partner_id is not null
    group by l.partner_id
)
select
    p.id as partner_id,
    coalesce(r.leads_assigned_30d, 0)::integer as leads_assigned_30d,
    coalesce(r.leads_accepted_30d, 0)::integer as leads_accepted_30d,
    coalesce(r.leads_rejected_30d, 0)::integer as leads_rejected_30d,
    round(r.leads_accepted_30d::numeric / nullif(r.leads_assigned_30d, 0), 4) as conversion_rate_30d,
    coalesce(r.open_leads_count, 0)::integer as open_leads_count,
    r.last_assigned_at,
    now() as refreshed_at
from public.profiles as p
left join recent as r on r.partner_id = p.id
where not p.is_admin;

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

-- Leads still new, with every active partner whose branch and region fields name them
-- (raw text equality, as the existing router does), scored from the MV.
do $$
declare
    regions_expr text := case
        when (
            select format_type(a.atttypid, a.atttypmod)
            from pg_catalog.pg_attribute as a
            where a.attrelid = 'public.profiles'::regclass and a.attname = 'regions'
        ) = 'text' then 'string_to_array(p.regions, '','')'
        else 'p.regions'
    end;
begin
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
            and (i.name = p.primary_branch or i.name = any(p.lead_industries))
            and (l.province = any(%s) or l.province = any(p.lead_locations))
        left join public.partner_performance_stats as s on s.partner_id = p.id
        where l.status = 'new'
    $ddl$, regions_expr);
end
$$;
