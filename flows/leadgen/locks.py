"""Run locks: two runs of the same flow never overlap on the same database.

A PostgreSQL session advisory lock keyed per flow name (``pg_try_advisory_lock(hashtext('leadgen'),
hashtext(<flow>))``), held on a dedicated connection for the duration of the run. The lock lives in
the database, so it works across machines, Prefect workers and the CLI alike, and PostgreSQL
releases it when the holder's connection dies (a crashed run never leaves a stale lock).

Session locks need a session: point leadgen at Supabase's direct connection or the session-mode
pooler (port 5432), not the transaction-mode pooler (port 6543).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from leadgen.config import Target, resolve_target
from leadgen.db import connect

_NAMESPACE = "leadgen"
# The flows that write the marts (assign, daily, backfill) also queue on this shared lock, so
# they never write the same incremental tables at the same time (they wait, they do not fail).
MARTS = "marts"


# A refused overlap is not a failure: the other run does the work. Its own exit code (EX_TEMPFAIL
# of sysexits.h, "try again later") lets a cron wrapper or an alert tell it from a real error.
OVERLAP_EXIT_CODE = 75
_OVERLAP_MARK = " run is in progress on database "


class FlowAlreadyRunningError(RuntimeError):
    """Another run of the same flow holds the run lock."""


def refused_run(exc: FlowAlreadyRunningError) -> Any:
    """The final state of a flow run refused by the run lock: *Cancelled* with a one-line reason
    (a *Failed* run with a traceback would fire alerts for a run that rightly did nothing)."""
    from prefect.states import Cancelled

    return Cancelled(message=str(exc))


def is_refused_overlap(exc: BaseException) -> bool:
    """The run lock refused this run: the lock's own error, or the ``CancelledRun`` Prefect raises
    for a flow run that ended in :func:`refused_run`'s state."""
    if isinstance(exc, FlowAlreadyRunningError):
        return True
    return type(exc).__name__ == "CancelledRun" and _OVERLAP_MARK in str(exc)


@contextmanager
def run_lock(flow_name: str, target: Target | None = None) -> Iterator[None]:
    """Hold the advisory lock of ``flow_name`` for the block, or fail at once if another run has it."""
    target = target or resolve_target()
    conn = connect(target, autocommit=True, application_name=f"leadgen {flow_name} lock")
    try:
        row = conn.execute(
            "select pg_try_advisory_lock(hashtext(%s), hashtext(%s))", (_NAMESPACE, flow_name)
        ).fetchone()
        if not (row and row[0]):
            raise FlowAlreadyRunningError(
                f"another {flow_name}{_OVERLAP_MARK}{target.dbname!r}; "
                "this run stopped without changing anything"
            )
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s), hashtext(%s))", (_NAMESPACE, flow_name))
    finally:
        conn.close()


@contextmanager
def serialized(resource: str, target: Target | None = None, *, on_wait: Callable[[str], None] | None = None
               ) -> Iterator[None]:
    """Wait for, then hold, the advisory lock of a shared ``resource`` (e.g. :data:`MARTS`)."""
    target = target or resolve_target()
    conn = connect(target, autocommit=True, application_name=f"leadgen {resource} lock")
    key = (_NAMESPACE, f"resource:{resource}")
    try:
        row = conn.execute("select pg_try_advisory_lock(hashtext(%s), hashtext(%s))", key).fetchone()
        if not (row and row[0]):
            if on_wait:
                on_wait(f"waiting for another run that is writing the {resource}")
            conn.execute("select pg_advisory_lock(hashtext(%s), hashtext(%s))", key)
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s), hashtext(%s))", key)
    finally:
        conn.close()
