-- leads.segment_id: the lead's segment (written back by the assignment flow), NULL when unmatched.
--
-- Locking choice: CREATE INDEX CONCURRENTLY cannot run inside a transaction, and each migration
-- file runs in one (as with the Supabase CLI). The column is new and entirely NULL, so:
-- - adding it is a catalog-only change;
-- - the foreign key check and the index build are one sequential scan each; the index is
--   partial (where segment_id is not null), so it starts empty: no sort, nothing written.
--   Lookups by segment (the marts, and "on delete set null" when a segment is deleted) use
--   "segment_id = $1", which the partial index serves.
-- lock_timeout makes the migration fail fast instead of queueing behind a long transaction
-- (which would block every writer of leads behind our lock); rerun it later in that case.
set local lock_timeout = '5s';

alter table public.leads
add column segment_id uuid
constraint leads_segment_id_fkey references public.lead_segments (id) on delete set null;

create index leads_segment_id_idx on public.leads (segment_id) where segment_id is not null;

comment on column public.leads.segment_id is 'Segment of the lead (analytics.lead_segment_assignments, written back); NULL when unmatched.';
