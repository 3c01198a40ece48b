"""Write the dbt segment assignment back to ``public.leads.segment_id``.

The rule lives in dbt (``analytics.lead_segment_assignments``); this module only copies its
``segment_id`` to the leads. Two rules keep it cheap and short-locking:

- **Candidates since the last write-back.** A lead's ``segment_id`` can differ from the mart only
  when one of the two changed since the last *completed* write-back:
  - the mart row: its ``assigned_at`` moves exactly when its segment (or unmatched reason)
    changes, and one dbt run gives all its rows the same ``assigned_at`` (its transaction's
    ``now()``), so only rows assigned after the newest ``assigned_at`` the last write-back saw
    can be new; the flows that build the mart and write back serialise on one lock
    (leadgen.locks);
  - the lead: any write to it (someone clearing or changing ``segment_id`` included) moves
    ``leads.updated_at`` (the platform's moddatetime trigger), so only leads updated after the
    last write-back started (less dbt's ``assignment_late_commit_margin``, for transactions that
    committed late) can have been changed behind its back.

  Both are index range scans, so the work follows the day's changes, not the size of the history.
  The two marks are kept in ``private.segment_writeback_state`` (migration 20261202090000) and
  move only after every batch committed: a killed write-back is simply done again, from the same
  marks. ``write_back_segments(full=True)`` compares every lead (also the first write-back).
- **Read, then write in short transactions.** The differing rows are read with a plain query
  (a snapshot, no row locks), streamed in ``lead_id`` order; each ``batch_size`` of them is then
  updated by primary key in one autocommitted statement, so a lead row is locked only for the
  few milliseconds of one batch's UPDATE and its commit. The UPDATE re-checks
  ``is distinct from``: a second run writes nothing and touches no ``updated_at``.
"""

from __future__ import annotations

import logging
from datetime import datetime

import psycopg

from leadgen.config import Target, dbt_var
from leadgen.db import connect, table_exists

log = logging.getLogger(__name__)

ASSIGNMENTS = "analytics.lead_segment_assignments"
STATE = "private.segment_writeback_state"

# A transaction that wrote a lead before the last write-back started but committed after it
# (its updated_at is its start time) is still seen if it took less than dbt's var
# assignment_late_commit_margin: the same allowance the assignment model makes.
LATE_COMMIT_MARGIN_VAR = "assignment_late_commit_margin"

# The leads that may differ since the last write-back: the mart rows assigned after its mark
# and the leads updated after it started (both index range scans).
_CANDIDATES_SQL = """
with candidates as (
    select assignments.lead_id
    from analytics.lead_segment_assignments as assignments
    where assignments.assigned_at > %(assigned_since)s::timestamptz

    union

    select leads.id
    from public.leads as leads
    where leads.updated_at > %(updated_since)s::timestamptz
)
"""

# The rows whose segment_id differs from the mart ({assignments}: all of them, or the candidates').
# A segment that no longer exists (deleted after the dbt run) is skipped rather than failing the
# foreign key.
_DIFFERING_SQL = """
select assignments.lead_id, assignments.segment_id
from {assignments}
inner join public.leads as leads on assignments.lead_id = leads.id
where
    leads.segment_id is distinct from assignments.segment_id
    and (
        assignments.segment_id is null
        or exists (select 1 from public.lead_segments as s where s.id = assignments.segment_id)
    )
order by assignments.lead_id
"""
_ALL_ASSIGNMENTS = "analytics.lead_segment_assignments as assignments"
_CANDIDATE_ASSIGNMENTS = (
    "candidates inner join analytics.lead_segment_assignments as assignments"
    " on candidates.lead_id = assignments.lead_id"
)

_UPDATE_SQL = """
update public.leads as leads
set segment_id = batch.segment_id
from unnest(%(ids)s::uuid[], %(segments)s::uuid[]) as batch (lead_id, segment_id)
where leads.id = batch.lead_id and leads.segment_id is distinct from batch.segment_id
"""


class WriteBackError(RuntimeError):
    """The write-back cannot run (e.g. the dbt mart is not built yet)."""


def write_back_segments(
    target: Target | None = None, *, batch_size: int = 500, lock_timeout: str = "5s", full: bool = False
) -> int:
    """Copy ``segment_id`` from the assignment mart to ``public.leads``; returns rows changed.

    Each batch is its own transaction of at most ``batch_size`` updated rows. Leads whose value
    already matches are never updated (their ``updated_at`` is untouched), which makes a second
    run write 0 rows. Only the candidates since the last completed write-back are compared (see
    the module) unless ``full`` (or no write-back has completed yet).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    with connect(target, autocommit=True) as reader, connect(target, autocommit=True) as writer:
        for name, hint in ((ASSIGNMENTS, "run `dbt build` first"), (STATE, "run `leadgen migrate` first")):
            if not table_exists(reader, name):
                raise WriteBackError(f"{name} does not exist: {hint}")
        marks = None if full else _marks(reader)
        if marks is None:
            log.debug("write-back: comparing every lead (full)")  # detail: the log file, or -v
        else:
            log.debug("write-back: comparing leads assigned after %s or updated after %s", *marks)
        total, assigned_until, started_at = _write_differing(reader, writer, marks, batch_size, lock_timeout)
        if assigned_until is not None:
            writer.execute(
                f"insert into {STATE} (id, assigned_until, started_at) values (true, %s, %s) "
                "on conflict (id) do update set assigned_until = excluded.assigned_until, "
                "started_at = excluded.started_at, updated_at = now()",
                (assigned_until, started_at),
            )
    log.debug("write-back: %d leads written", total)
    return total


def _marks(conn: psycopg.Connection) -> tuple[datetime, datetime] | None:
    """(assigned after, updated after) of the last completed write-back, or None: never ran."""
    row = conn.execute(
        f"select assigned_until, started_at - %s::interval from {STATE}", (dbt_var(LATE_COMMIT_MARGIN_VAR),)
    ).fetchone()
    return (row[0], row[1]) if row else None


def _write_differing(
    reader: psycopg.Connection,
    writer: psycopg.Connection,
    marks: tuple[datetime, datetime] | None,
    batch_size: int,
    lock_timeout: str,
) -> tuple[int, datetime | None, datetime]:
    """Write the differing rows; returns (rows changed, the newest assigned_at read, when the read
    snapshot was taken): the next write-back's marks."""
    total = 0
    # A named (server-side) cursor streams the differing rows; it needs a transaction on the
    # reader, which is read-only: it holds no row locks and no transaction id. The next marks are
    # read before the differing rows: what commits in between is compared now and again next
    # time (harmless); what commits later is the next write-back's work.
    with reader.transaction():
        # Every differing row is read, not the first few: without this a cursor is planned for
        # its first 10 % (cursor_tuple_fraction), a merge join of the two primary-key index
        # scans in random heap order, 96 s instead of 17 s for a full compare at 10 M leads.
        reader.execute("set local cursor_tuple_fraction = 1")
        assigned_until, started_at = reader.execute(  # type: ignore[misc]
            f"select max(assigned_at), now() from {ASSIGNMENTS}"
        ).fetchone()
        with reader.cursor(name="leadgen_writeback") as cur:
            cur.itersize = batch_size
            if marks is None:
                cur.execute(_DIFFERING_SQL.format(assignments=_ALL_ASSIGNMENTS))
            else:
                cur.execute(
                    _CANDIDATES_SQL + _DIFFERING_SQL.format(assignments=_CANDIDATE_ASSIGNMENTS),
                    {"assigned_since": marks[0], "updated_since": marks[1]},
                )
            # Each batch is one autocommitted statement: its row locks are taken and released
            # inside the server (UPDATE, then COMMIT, no client round trip in between).
            writer.execute("select set_config('lock_timeout', %s, false)", (lock_timeout,))
            while rows := cur.fetchmany(batch_size):
                changed = writer.execute(
                    _UPDATE_SQL, {"ids": [r[0] for r in rows], "segments": [r[1] for r in rows]}
                ).rowcount
                total += changed
                log.debug("write-back: batch up to lead %s changed %d rows (total %d)",
                         rows[-1][0], changed, total)
    return total, assigned_until, started_at
