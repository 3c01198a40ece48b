"""Write the dbt segment assignment back to ``public.leads.segment_id``.

The rule lives in dbt (``analytics.lead_segment_assignments``); this module only copies its
``segment_id`` to the leads. Two rules keep it cheap and short-locking:

- **Candidates since the last write-back.** A mart row's ``assigned_at`` moves exactly when its
  segment (or unmatched reason) changes, and one dbt run gives all its rows the same
  ``assigned_at`` (its transaction's ``now()``), so only rows assigned after the newest
  ``assigned_at`` the last *completed* write-back saw can differ from ``leads.segment_id`` (the
  flows that build the mart and write back serialise on one lock, leadgen.locks). That mark is
  kept in ``private.segment_writeback_state`` (migration 20261202090000) and moves only
  after every batch committed: a killed write-back is simply done again, from the same mark.
  ``write_back_segments(full=True)`` compares every lead instead, for leads changed by
  someone else (no CLI command exposes it yet).
- **Read, then write in short transactions.** The differing rows are read with a plain query
  (a snapshot, no row locks), streamed in ``lead_id`` order; each ``batch_size`` of them is then
  updated by primary key in its own transaction, so a lead row is locked only for the few
  milliseconds of one batch's UPDATE. The UPDATE re-checks ``is distinct from``: a second run
  writes nothing and touches no ``updated_at``.
"""

from __future__ import annotations

import logging
from datetime import datetime

import psycopg

from leadgen.config import Target
from leadgen.db import connect, table_exists

log = logging.getLogger(__name__)

ASSIGNMENTS = "analytics.lead_segment_assignments"
STATE = "private.segment_writeback_state"

# The rows whose segment_id differs from the mart, among those assigned after the mark.
# A segment that no longer exists (deleted after the dbt run) is skipped rather than failing
# the foreign key.
_DIFFERING_SQL = """
select assignments.lead_id, assignments.segment_id
from analytics.lead_segment_assignments as assignments
inner join public.leads as leads on assignments.lead_id = leads.id
where
    assignments.assigned_at > coalesce(%(since)s::timestamptz, '-infinity')
    and leads.segment_id is distinct from assignments.segment_id
    and (
        assignments.segment_id is null
        or exists (select 1 from public.lead_segments as s where s.id = assignments.segment_id)
    )
order by assignments.lead_id
"""

_UPDATE_SQL = """
update public.leads as leads
set segment_id = batch.segment_id
from unnest(%(ids)s::uuid[], %(segments)s::uuid[]) as batch (lead_id, segment_id)
where leads.id = batch.lead_id and leads.segment_id is distinct from batch.segment_id
"""


class WriteBackError(RuntimeError):
    """The write-back cannot run (e.g. the dbt mart is not built yet)."""


def write_back_segments(
    target: Target | None = None, *, batch_size: int = 1000, lock_timeout: str = "5s", full: bool = False
) -> int:
    """Copy ``segment_id`` from the assignment mart to ``public.leads``; returns rows changed.

    Each batch is its own transaction of at most ``batch_size`` updated rows. Leads whose value
    already matches are never updated (their ``updated_at`` is untouched), which makes a second
    run write 0 rows. Only rows assigned after the last completed write-back's mark are compared unless
    ``full`` (or no write-back has completed yet).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    with connect(target, autocommit=True) as reader, connect(target, autocommit=True) as writer:
        for name, hint in ((ASSIGNMENTS, "run `dbt build` first"), (STATE, "run `leadgen migrate` first")):
            if not table_exists(reader, name):
                raise WriteBackError(f"{name} does not exist: {hint}")
        since = None if full else _mark(reader)
        # Read before the walk: whatever is assigned later is the next write-back's work.
        row = reader.execute(f"select max(assigned_at) from {ASSIGNMENTS}").fetchone()
        until: datetime | None = row[0] if row else None
        log.info("write-back: comparing leads assigned since %s", since or "the beginning (full)")
        total = _write_differing(reader, writer, since, batch_size, lock_timeout)
        if until is not None:
            writer.execute(
                f"insert into {STATE} (id, assigned_until) values (true, %s) "
                "on conflict (id) do update set assigned_until = excluded.assigned_until, updated_at = now()",
                (until,),
            )
    log.info("write-back: %d leads changed", total)
    return total


def _mark(conn: psycopg.Connection) -> datetime | None:
    row = conn.execute(f"select assigned_until from {STATE}").fetchone()
    return row[0] if row else None


def _write_differing(
    reader: psycopg.Connection,
    writer: psycopg.Connection,
    since: datetime | None,
    batch_size: int,
    lock_timeout: str,
) -> int:
    total = 0
    # A named (server-side) cursor streams the differing rows; it needs a transaction on the
    # reader, which is read-only: it holds no row locks and no transaction id.
    with reader.transaction(), reader.cursor(name="leadgen_writeback") as cur:
        cur.itersize = batch_size
        cur.execute(_DIFFERING_SQL, {"since": since})
        while rows := cur.fetchmany(batch_size):
            with writer.transaction():
                writer.execute("select set_config('lock_timeout', %s, true)", (lock_timeout,))
                changed = writer.execute(
                    _UPDATE_SQL, {"ids": [r[0] for r in rows], "segments": [r[1] for r in rows]}
                ).rowcount
            total += changed
            log.info("write-back: batch up to lead %s changed %d rows (total %d)",
                     rows[-1][0], changed, total)
    return total
