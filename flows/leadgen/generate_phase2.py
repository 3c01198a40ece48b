"""Phase-2 demo data: plans, explicit partner segments, marketing profiles, landing pages, campaigns.

Called by ``leadgen.generate.generate_marketplace`` after it created partners and ``lead_segments``,
inside its transaction. Set-based SQL; deterministic for a seed: every "random" draw is a hash of
(seed, row key, purpose) (``pg_temp.lg_u``), so results do not depend on row order or on
``random()``'s state. Dates are relative to the database's ``now()`` (Europe/Amsterdam months).

Landing pages are inserted in their final status directly: the workflow trigger checks transitions
on update, and lets the table owner (this generator) insert any status; it sets ``published_at``
only when none is given, so live and archived pages get a realistic publication date here.
"""

from __future__ import annotations

import psycopg

# uniform [0, 1) from a text key
_U = """
create or replace function pg_temp.lg_u(key text) returns double precision
language sql immutable
as $$ select ('x' || substr(md5(key), 1, 8))::bit(32)::bigint / 4294967296.0 $$
"""

_PLANS = """
insert into public.lead_segment_plans (id, segment_id, period_start, period_end, target_leads, budget)
select
    md5(%(seed)s::text || ':plan:' || s.id || ':' || m.k)::uuid,
    s.id,
    m.period_start,
    (m.period_start + interval '1 month' - interval '1 day')::date,
    t.target_leads,
    round(
        (t.target_leads * (15 + 35 * pg_temp.lg_u(%(seed)s::text || ':cpl:' || s.id)))::numeric, 2
    )
from public.lead_segments as s
cross join lateral (
    select
        k,
        (date_trunc('month', (now() at time zone 'Europe/Amsterdam')::date) - k * interval '1 month')::date
            as period_start
    from generate_series(0, 3) as k
) as m
cross join lateral (
    select
        (10 + floor(190 * pg_temp.lg_u(%(seed)s::text || ':target:' || s.id || ':' || m.k)))::int
            as target_leads
) as t
where s.is_active and pg_temp.lg_u(%(seed)s::text || ':planned:' || s.id) < 0.8
"""

# partners (non-admin) numbered in a stable order, segments (active) likewise
_PARTNERS = """
create temporary table lg_partner on commit drop as
select
    p.id,
    row_number() over (order by p.id) as rn,
    pg_temp.lg_u(%(seed)s::text || ':mode:' || p.id) as u_mode
from public.profiles as p
where not p.is_admin
"""

_MARKETING_PROFILES = """
update public.profiles as p
set
    marketing_mode = m.mode,
    auto_marketing_enabled = m.mode = 'full_marketing'
        and pg_temp.lg_u(%(seed)s::text || ':auto:' || p.id) < 0.6,
    monthly_marketing_budget = case
        when m.mode <> 'leads_only'
            then round((250 + 2750 * pg_temp.lg_u(%(seed)s::text || ':budget:' || p.id))::numeric, -1)
    end,
    preferred_channels = case
        when m.mode = 'leads_only' then '{}'::text[]
        else (
            select coalesce(array_agg(c order by c), '{}')
            from unnest(array[
                'google_ads', 'meta_ads', 'linkedin_ads', 'microsoft_ads', 'tiktok_ads', 'seo', 'email'
            ]) as c
            where pg_temp.lg_u(%(seed)s::text || ':chan:' || p.id || ':' || c) < 0.35
        )
    end,
    brand_color = case
        when m.mode <> 'leads_only' then '#' || substr(md5(%(seed)s::text || ':color:' || p.id), 1, 6)
    end,
    logo_url = case
        when m.mode <> 'leads_only' then 'https://cdn.example.nl/logos/' || left(p.id::text, 8) || '.png'
    end,
    tone_of_voice = case
        when m.mode <> 'leads_only' then (array[
            'Vakkundig en persoonlijk', 'Betrouwbaar, no-nonsense', 'Vriendelijk en duidelijk',
            'Premium vakmanschap', 'Snel en voordelig'
        ])[1 + floor(5 * pg_temp.lg_u(%(seed)s::text || ':tone:' || p.id))::int]
    end
from (
    select
        id,
        case when u_mode < 0.55 then 'leads_only' when u_mode < 0.85 then 'hybrid' else 'full_marketing' end
            as mode
    from lg_partner
) as m
where m.id = p.id
"""

_PARTNER_SEGMENTS = """
with segments as (
    select id, row_number() over (order by branch, region) - 1 as idx, count(*) over () as n
    from public.lead_segments
    where is_active
),

picks as (
    select
        p.id as partner_id,
        j,
        floor(pg_temp.lg_u(%(seed)s::text || ':seg:' || p.id || ':' || j) * s.n)::int as idx
    from lg_partner as p
    cross join (select max(n) as n from segments) as s
    cross join generate_series(1, 3) as j
    where pg_temp.lg_u(%(seed)s::text || ':linked:' || p.id) < 0.45
        and j <= 1 + floor(3 * pg_temp.lg_u(%(seed)s::text || ':nseg:' || p.id))
),

firsts as (
    select distinct on (partner_id, idx) partner_id, idx, j
    from picks
    order by partner_id, idx, j
)

insert into public.partner_segments (id, partner_id, segment_id, is_primary, priority, is_active)
select
    md5(%(seed)s::text || ':ps:' || f.partner_id || ':' || f.idx)::uuid,
    f.partner_id,
    s.id,
    f.j = 1,
    (f.j - 1) * 10,
    f.j = 1 or pg_temp.lg_u(%(seed)s::text || ':psactive:' || f.partner_id || ':' || f.idx) >= 0.15
from firsts as f
inner join segments as s on s.idx = f.idx
"""

_LANDING_PAGES = """
with marketers as (
    select p.id, p.marketing_mode
    from public.profiles as p
    where not p.is_admin and p.marketing_mode <> 'leads_only'
),

pages as (
    select
        m.id as partner_id,
        k,
        row_number() over (order by m.id, k) as rn,
        pg_temp.lg_u(%(seed)s::text || ':lpstatus:' || m.id || ':' || k) as u_status,
        pg_temp.lg_u(%(seed)s::text || ':lpsource:' || m.id || ':' || k) as u_source,
        pg_temp.lg_u(%(seed)s::text || ':lpviews:' || m.id || ':' || k) as u_views,
        pg_temp.lg_u(%(seed)s::text || ':lpconv:' || m.id || ':' || k) as u_conv,
        pg_temp.lg_u(%(seed)s::text || ':lppub:' || m.id || ':' || k) as u_pub
    from marketers as m
    cross join generate_series(1, 4) as k
    where k <= 1 + floor(4 * pg_temp.lg_u(%(seed)s::text || ':npages:' || m.id))
),

shaped as (
    select
        p.*,
        case
            when p.rn <= 4 then (array['concept', 'review', 'live', 'archived'])[p.rn]
            when p.u_status < 0.25 then 'concept'
            when p.u_status < 0.40 then 'review'
            when p.u_status < 0.85 then 'live'
            else 'archived'
        end as status,
        case
            when p.rn <= 3 then (array['ai_generated', 'manual', 'template'])[p.rn]
            when p.u_source < 0.40 then 'ai_generated'
            when p.u_source < 0.75 then 'manual'
            else 'template'
        end as source,
        (
            select ps.segment_id from public.partner_segments as ps
            where ps.partner_id = p.partner_id and ps.is_active
            order by ps.priority, ps.segment_id
            limit 1
        ) as segment_id
    from pages as p
),

counted as (
    select
        s.*,
        case when s.status in ('live', 'archived') then floor(5000 * s.u_views * s.u_views)::int else 0 end
            as views_count
    from shaped as s
)

insert into public.partner_landing_pages (
    id, partner_id, segment_id, path, status, source, title, subtitle, seo_title, seo_description,
    content_json, views_count, conversions_count, published_at
)
select
    md5(%(seed)s::text || ':lp:' || c.partner_id || ':' || c.k)::uuid,
    c.partner_id,
    c.segment_id,
    '/partners/' || left(c.partner_id::text, 8) || '/' || coalesce(seg.region, 'nederland') || '-' || c.k,
    c.status,
    c.source,
    initcap(coalesce(seg.branch, 'vakman')) || ' in '
        || initcap(replace(coalesce(seg.region, 'nederland'), '-', ' ')),
    'Offerte binnen 24 uur',
    left(
        initcap(coalesce(seg.branch, 'vakman')) || ' '
        || initcap(replace(coalesce(seg.region, 'nederland'), '-', ' ')) || ' | Gratis offerte',
        70
    ),
    'Vraag vrijblijvend een offerte aan bij een erkende vakman in de buurt.',
    jsonb_build_object(
        'blocks', jsonb_build_array(
            jsonb_build_object('type', 'hero', 'heading', 'Snel een vakman'),
            jsonb_build_object('type', 'usp', 'items', jsonb_build_array('Erkend', 'Lokaal', 'Vaste prijs')),
            jsonb_build_object('type', 'form', 'fields', jsonb_build_array('naam', 'postcode', 'telefoon'))
        ),
        'version', 1
    ),
    c.views_count,
    floor(c.views_count * 0.08 * c.u_conv)::int,
    case when c.status in ('live', 'archived') then now() - (1 + 180 * c.u_pub) * interval '1 day' end
from counted as c
left join public.lead_segments as seg on seg.id = c.segment_id
"""

_CAMPAIGNS = """
with marketers as (
    select p.id
    from public.profiles as p
    where not p.is_admin and p.marketing_mode <> 'leads_only'
),

drawn as (
    select
        m.id as partner_id,
        k,
        row_number() over (order by m.id, k) as rn,
        md5(%(seed)s::text || ':mc:' || m.id || ':' || k) as h,
        pg_temp.lg_u(%(seed)s::text || ':mcchan:' || m.id || ':' || k) as u_channel,
        pg_temp.lg_u(%(seed)s::text || ':mcstatus:' || m.id || ':' || k) as u_status,
        pg_temp.lg_u(%(seed)s::text || ':mcimpr:' || m.id || ':' || k) as u_impr,
        pg_temp.lg_u(%(seed)s::text || ':mcctr:' || m.id || ':' || k) as u_ctr,
        pg_temp.lg_u(%(seed)s::text || ':mccpc:' || m.id || ':' || k) as u_cpc,
        pg_temp.lg_u(%(seed)s::text || ':mcconv:' || m.id || ':' || k) as u_conv,
        pg_temp.lg_u(%(seed)s::text || ':mcbudget:' || m.id || ':' || k) as u_budget,
        pg_temp.lg_u(%(seed)s::text || ':mcstart:' || m.id || ':' || k) as u_start
    from marketers as m
    cross join generate_series(1, 3) as k
    where k <= 1 + floor(3 * pg_temp.lg_u(%(seed)s::text || ':ncamp:' || m.id))
),

shaped as (
    select
        d.*,
        case
            when d.rn <= 6 then (array[
                'google_ads', 'meta_ads', 'linkedin_ads', 'microsoft_ads', 'tiktok_ads', 'other'
            ])[d.rn]
            when d.u_channel < 0.40 then 'google_ads'
            when d.u_channel < 0.70 then 'meta_ads'
            when d.u_channel < 0.80 then 'microsoft_ads'
            when d.u_channel < 0.88 then 'linkedin_ads'
            when d.u_channel < 0.95 then 'tiktok_ads'
            else 'other'
        end as channel,
        case
            when d.rn <= 4 then (array['planned', 'active', 'paused', 'archived'])[d.rn]
            when d.u_status < 0.15 then 'planned'
            when d.u_status < 0.60 then 'active'
            when d.u_status < 0.80 then 'paused'
            else 'archived'
        end as status
    from drawn as d
),

totals as (
    select
        s.*,
        case when s.status = 'planned' then 0 else floor(200000 * s.u_impr * s.u_impr)::bigint end
            as impressions,
        0.005 + 0.05 * s.u_ctr as ctr,
        0.40 + 3.10 * s.u_cpc as cpc,
        -- about one campaign in ten converts nothing at all
        case when s.u_conv < 0.10 then 0 else 0.12 * s.u_conv end as conversion
    from shaped as s
),

clicks as (
    select t.*, floor(t.impressions * t.ctr)::bigint as n_clicks
    from totals as t
)

insert into public.partner_marketing_campaigns (
    id, partner_id, segment_id, channel, external_campaign_id, name, status, daily_budget, monthly_budget,
    cpl_target, ai_managed, total_spend, total_clicks, total_impressions, total_leads, started_at, ended_at
)
select
    c.h::uuid,
    c.partner_id,
    (
        select ps.segment_id from public.partner_segments as ps
        where ps.partner_id = c.partner_id and ps.is_active
        order by ps.priority, ps.segment_id
        limit 1
    ),
    c.channel,
    case when c.status <> 'planned' then upper(left(c.channel, 2)) || '-' || left(c.h, 12) end,
    initcap(replace(c.channel, '_', ' ')) || ' campagne ' || c.k,
    c.status,
    round((10 + 140 * c.u_budget)::numeric, 2),
    round(((10 + 140 * c.u_budget) * 30.4)::numeric, 2),
    round((15 + 65 * c.u_cpc)::numeric, 2),
    pg_temp.lg_u(c.h || ':ai') < 0.3,
    round((c.n_clicks * c.cpc)::numeric, 2),
    c.n_clicks,
    c.impressions,
    floor(c.n_clicks * c.conversion)::int,
    case when c.status <> 'planned' then now() - (30 + 300 * c.u_start) * interval '1 day' end,
    case when c.status = 'archived' then now() - (1 + 25 * c.u_start) * interval '1 day' end
from clicks as c
"""


def fill_phase2(conn: psycopg.Connection, seed: int) -> dict[str, int]:
    """Fill plans, marketing profiles, partner segments, landing pages and campaigns; row counts."""
    params = {"seed": str(seed)}
    counts: dict[str, int] = {}
    conn.execute(_U)
    counts["lead_segment_plans"] = conn.execute(_PLANS, params).rowcount
    conn.execute("drop table if exists pg_temp.lg_partner")
    conn.execute(_PARTNERS, params)
    counts["marketing_profiles"] = conn.execute(_MARKETING_PROFILES, params).rowcount
    counts["partner_segments"] = conn.execute(_PARTNER_SEGMENTS, params).rowcount
    counts["partner_landing_pages"] = conn.execute(_LANDING_PAGES, params).rowcount
    counts["partner_marketing_campaigns"] = conn.execute(_CAMPAIGNS, params).rowcount
    conn.execute("drop table pg_temp.lg_partner")
    return counts
