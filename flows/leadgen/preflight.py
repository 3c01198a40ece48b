"""Checks a command makes before it starts a flow (cheap: no Prefect import), so bad input or an
unreachable database is one clear line instead of a crashed flow run."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from leadgen.config import Target, reporting_timezone, resolve_target
from leadgen.db import connect


class DatabaseUnreachableError(RuntimeError):
    """The configured database does not answer."""


def check_database(target: Target | None = None) -> Target:
    """Resolve the database and check that it answers (one clear error instead of a crashed run)."""
    target = target or resolve_target()
    try:
        with connect(target, connect_timeout=5) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise DatabaseUnreachableError(
            f"cannot connect to the database {target.url()} (from {target.source}): {reason}"
        ) from exc
    return target


def amsterdam_today() -> date:
    """Today in the calendar every daily number uses (dbt var `timezone`: Europe/Amsterdam)."""
    return datetime.now(ZoneInfo(reporting_timezone())).date()


class InvalidDateRangeError(ValueError):
    """A backfill range that is empty or reaches into the future."""


def validate_range(start: date, end: date, today: date) -> list[date]:
    """The days of ``start..end`` (inclusive), or a clear error for an impossible range."""
    if start > end:
        raise InvalidDateRangeError(f"backfill start {start} is after end {end}")
    if end > today:
        raise InvalidDateRangeError(
            f"backfill end {end} is in the future (today is {today} in {reporting_timezone()})"
        )
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- backfill range --------------------------------------------------------------------------
# Above this many days a backfill asks for --yes (a year of days takes long and loads the database).
MAX_UNCONFIRMED_BACKFILL_DAYS = 366


def first_lead_day(target: Target) -> date | None:
    """The Amsterdam day of the first lead (an index scan on leads.created_at), None without leads."""
    with connect(target, connect_timeout=5) as conn:
        row = conn.execute(
            "select (min(created_at) at time zone %s)::date from public.leads", (reporting_timezone(),)
        ).fetchone()
    return row[0] if row else None


def clip_to_first_lead(start: date, first_day: date | None) -> tuple[date, str | None]:
    """``start`` moved to the first lead day when it lies before it, with a line that says so."""
    if first_day is None:
        return start, "no leads yet: nothing to rebuild"
    if start < first_day:
        return first_day, f"start {start} is before the first lead day {first_day}: starting there"
    return start, None


# --- leadgen db status -----------------------------------------------------------------------
def describe_database(target: Target) -> list[str]:
    """What ``leadgen db status`` reports: the server, the migrations, and the platform check
    (``leadgen check``: the source contract, the role's access)."""
    from leadgen.check import check_platform
    from leadgen.migrate import HISTORY_TABLE, migration_status

    check_database(target)
    with connect(target, connect_timeout=5) as conn:
        version = conn.execute("select current_setting('server_version')").fetchone()
    status = migration_status(target)
    applied, pending = len(status.already_applied), len(status.pending)
    lines = [f"server: PostgreSQL {version[0] if version else '?'}, database {target.dbname!r} answers"]
    line = f"migrations: {applied} of {applied + pending} applied ({HISTORY_TABLE})"
    lines.append(f"{line}, {pending} pending: run `leadgen migrate`" if pending else line)
    report = check_platform(target)
    if report.ok:
        lines.append("platform: meets the source contract")
    else:
        lines.append(f"platform: {len(report.problems)} problem(s) (`leadgen check` shows the same):")
        lines += [f"  {problem}" for problem in report.problems]
    return lines
