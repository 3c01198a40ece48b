"""Write the dbt segment assignment back to ``public.leads.segment_id``.

The rule lives in dbt (``analytics.lead_segment_assignments``); this module only copies its
``segment_id`` to the leads, in short transactions of at most ``batch_size`` changed rows
(keyset over ``lead_id``), touching only rows whose value differs. A second run writes nothing.
"""

from __future__ import annotations

import logging
import uuid

from leadgen.config import Target
from leadgen.db import connect, table_exists

log = logging.getLogger(__name__)

ASSIGNMENTS = "analytics.lead_segment_assignments"

# One batch: the next `batch_size` leads (in lead_id order, after the last key) whose
# segment_id differs from the mart, then the update of exactly those rows. A segment that no
# longer exists (deleted after the dbt run) is skipped rather than failing the foreign key.
_BATCH_SQL = """
with batch as (
    select assignments.lead_id, assignments.segment_id
    from analytics.lead_segment_assignments as assignments
    inner join public.leads as leads on leads.id = assignments.lead_id
    where
        assignments.lead_id > %(after)s
        and leads.segment_id is distinct from assignments.segment_id
        and (
            assignments.segment_id is null
            or exists (select 1 from public.lead_segments as s where s.id = assignments.segment_id)
        )
    order by assignments.lead_id
    limit %(batch_size)s
),

updated as (
    update public.leads as leads
    set segment_id = batch.segment_id
    from batch
    where leads.id = batch.lead_id and leads.segment_id is distinct from batch.segment_id
    returning leads.id
)

select
    (select batch.lead_id from batch order by batch.lead_id desc limit 1),
    (select count(*) from updated)
"""


class WriteBackError(RuntimeError):
    """The write-back cannot run (e.g. the dbt mart is not built yet)."""


def write_back_segments(
    target: Target | None = None, *, batch_size: int = 1000, lock_timeout: str = "5s"
) -> int:
    """Copy ``segment_id`` from the assignment mart to ``public.leads``; returns rows changed.

    Each batch is its own transaction of at most ``batch_size`` updated rows, so locks on
    ``leads`` are held briefly. Leads whose value already matches are never updated (their
    ``updated_at`` is untouched), which makes a second run write 0 rows.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    total = 0
    after = uuid.UUID(int=0)
    with connect(target, autocommit=True) as conn:
        if not table_exists(conn, ASSIGNMENTS):
            raise WriteBackError(f"{ASSIGNMENTS} does not exist: run `dbt build` first")
        while True:
            with conn.transaction():
                conn.execute("select set_config('lock_timeout', %s, true)", (lock_timeout,))
                row = conn.execute(_BATCH_SQL, {"after": after, "batch_size": batch_size}).fetchone()
            last_key, changed = (row[0], int(row[1])) if row else (None, 0)
            if last_key is None:
                break
            total += changed
            after = last_key
            log.info("write-back: batch up to lead %s changed %d rows (total %d)", last_key, changed, total)
    log.info("write-back: %d leads changed", total)
    return total
