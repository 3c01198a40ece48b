-- The seed's aggregation query (../shared/seeds/000_acef19e94f82ce8f.txt, "Query voor aggregatie"),
-- kept verbatim: our table and column names are the seed's, so nothing needed adapting. The bench
-- runs it into a TEMPORARY table named lead_generation_stats (pg_temp shadows nothing of ours: the
-- mart lives in schema analytics), then compares its numbers with analytics.lead_generation_stats.
-- Its defects are the point of the comparison: it joins partners before counting (each lead counted
-- once per matching partner), matches raw text (p.primary_branch = ls.branch), and computes only
-- yesterday in the session's time zone with a predicate no index can serve.
INSERT INTO lead_generation_stats (
  segment_id, date, 
  leads_generated, leads_accepted, leads_rejected, leads_pending,
  capacity_partners, capacity_total_leads
)
SELECT 
  l.segment_id,
  DATE(l.created_at) AS date,
  COUNT(*) AS leads_generated,
  COUNT(*) FILTER (WHERE l.status = 'accepted') AS leads_accepted,
  COUNT(*) FILTER (WHERE l.status = 'rejected') AS leads_rejected,
  COUNT(*) FILTER (WHERE l.status IN ('new', 'pending')) AS leads_pending,
  -- Capaciteit uit partners
  COUNT(DISTINCT p.id) AS capacity_partners,
  SUM(COALESCE(p.max_open_leads, 0)) AS capacity_total_leads
FROM leads l
JOIN lead_segments ls ON ls.id = l.segment_id
LEFT JOIN profiles p ON (
  (p.primary_branch = ls.branch OR ls.branch = ANY(p.lead_industries))
  AND (ls.region = ANY(p.regions) OR ls.region = ANY(p.lead_locations))
  AND p.is_active_for_routing = true
)
WHERE l.segment_id IS NOT NULL
  AND DATE(l.created_at) = CURRENT_DATE - INTERVAL '1 day'
GROUP BY l.segment_id, DATE(l.created_at);
