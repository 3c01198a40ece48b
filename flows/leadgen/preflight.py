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
