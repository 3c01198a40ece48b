"""An independent recount of lead_generation_stats, shared by the tests that check it.

Counts and buckets come from public.leads' own created_at and status (the buckets as DESIGN.md
names them), the segment from the assignment mart; the query returns every (segment, day) on
which the stats and the recount differ (at most 10), so an empty result means they agree.
"""

STATS_RECOUNT_MISMATCHES = """
with recount as (
    select
        a.segment_id,
        (l.created_at at time zone 'Europe/Amsterdam')::date as day,
        count(*) as generated,
        count(*) filter (where l.status = 'accepted') as accepted,
        count(*) filter (where l.status = 'rejected') as rejected,
        count(*) filter (where l.status in ('new', 'pending')) as pending
    from public.leads as l
    inner join analytics.lead_segment_assignments as a on a.lead_id = l.id
    where a.segment_id is not null
    group by 1, 2
)
select coalesce(s.segment_id, r.segment_id)::text, coalesce(s.date, r.day)::text,
       s.leads_generated, r.generated
from analytics.lead_generation_stats as s
full outer join recount as r on r.segment_id = s.segment_id and r.day = s.date
where
    s.segment_id is null
    or coalesce(r.generated, 0) <> s.leads_generated
    or coalesce(r.accepted, 0) <> s.leads_accepted
    or coalesce(r.rejected, 0) <> s.leads_rejected
    or coalesce(r.pending, 0) <> s.leads_pending
    or s.acceptance_rate is distinct from round(r.accepted::numeric / nullif(r.accepted + r.rejected, 0), 4)
order by 1, 2
limit 10
"""
