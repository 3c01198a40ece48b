-- The write-back's bookkeeping (leadgen.writeback), for the last completed write-back of
-- leads.segment_id: the newest assigned_at of analytics.lead_segment_assignments it saw, and when
-- its read snapshot was taken. The next write-back compares only mart rows assigned after the
-- first and leads updated after the second (less a late-commit margin), so its work follows the
-- day's changes, not the size of the history. One row (id is always true).
create table if not exists private.segment_writeback_state (
    id boolean primary key default true,
    assigned_until timestamptz not null,
    started_at timestamptz not null,
    updated_at timestamptz not null default now(),
    constraint segment_writeback_state_single_row check (id)
);

-- Internal to the pipeline: no policy, so only the table owner (the role that runs the
-- migrations and the flows) and service_role (bypassrls) reach it.
alter table private.segment_writeback_state enable row level security;

revoke all on table private.segment_writeback_state from public, anon, authenticated;

grant all on table private.segment_writeback_state to service_role;
