"""The Prefect flows that run leadgen unattended. Each flow reads like the operator's runbook.

- `refresh-partner-stats`: refresh the partner_performance_stats MV (also the first step of daily).
- `assign` (every 10 minutes): lead -> segment for new and changed leads, then the write-back.
- `daily` (03:00 Europe/Amsterdam): MV refresh, source freshness (a stale source warns), dbt build
  of the assignment, write-back, dbt build of the other marts, summary, report (a failing mart never
  holds up the assignment and its write-back).
- `backfill` (on demand): recount lead_generation_stats for a date range, in chunks of 92 days.
- `check-history` (Sundays 05:00): the recount invariants over the whole history.
- `migrate` (on demand, leadgen.migrate): apply pending migrations.

Every flow holds a run lock (a PostgreSQL advisory lock per flow name, see leadgen.locks), so two
runs of the same flow never overlap; a second run fails at once. The flows that write the marts
(assign, daily, backfill) also queue on one shared lock, so they never interleave. Flows take the
database from the environment (libpq ``PG*`` or ``DATABASE_URL``, else the embedded server; see
leadgen.config).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from leadgen import dbt_runner
from leadgen.config import Target, resolve_target
from leadgen.db import connect, table_exists
from leadgen.locks import MARTS, FlowAlreadyRunningError, refused_run, run_lock, serialized
from leadgen.preflight import amsterdam_today, clip_to_first_lead, first_lead_day, validate_range
from leadgen.stopping import STOP_HOOKS
from leadgen.summary import Summary, headline, load_summary, to_markdown

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest

ASSIGNMENT_MART = "analytics.lead_segment_assignments"
STATS_MODEL = "lead_generation_stats"
# Days a backfill recounts per dbt run: a year is four runs (a progress step each).
BACKFILL_CHUNK_DAYS = 92
FIRST_RUN = "the assignment mart does not exist yet"


# --- tasks -------------------------------------------------------------------------------------
def _is_connection_error(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry only what a retry can fix: the database being unreachable or dropping the connection."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:
        return False
    return isinstance(exc, psycopg.OperationalError)


@dataclass(frozen=True)
class RefreshResult:
    rows: int
    seconds: float


@task(
    name="refresh-partner-performance-stats",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_condition_fn=_is_connection_error,
    cache_policy=NO_CACHE,
)
def refresh_partner_stats_task(target: Target) -> RefreshResult:
    """``select public.refresh_partner_performance_stats()``; logs the MV's row count and duration."""
    started = time.monotonic()
    with connect(target, autocommit=True) as conn:
        conn.execute("select public.refresh_partner_performance_stats()")
        row = conn.execute("select count(*) from public.partner_performance_stats").fetchone()
    result = RefreshResult(rows=int(row[0]) if row else 0, seconds=round(time.monotonic() - started, 2))
    get_run_logger().info(
        "partner_performance_stats refreshed: %s rows in %.2f s", result.rows, result.seconds
    )
    return result


# The daily build in two parts, so that a failing stats or marketing mart never holds up the
# assignment and its write-back: first the assignment mart and everything it is built from, then
# the rest (what reads the assignment, and the marts beside it).
ASSIGNMENT_PART = ["--select", "+lead_segment_assignments", "--indirect-selection", "cautious"]
REST_PART = ["--exclude", "+lead_segment_assignments"]


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build_task(target: Target, retry_failed: bool = False, part: list[str] | None = None) -> None:
    """``dbt build`` (seeds, models, data tests) of ``part`` (ASSIGNMENT_PART, REST_PART; default all).
    On a retry only what failed last time is re-run.

    Unit tests check the SQL's logic on fixed inputs, not the night's data: they run in CI
    (``make test``), and the nightly run leaves them out, as dbt recommends for production."""
    logger = get_run_logger()
    started = time.monotonic()
    if retry_failed and dbt_runner.previous_run_failed("build"):
        logger.info("retry: re-running only the nodes that failed or were skipped last time (dbt retry)")
        result = dbt_runner.retry_failed(target)
        command = "dbt retry"
    else:
        result = dbt_runner.run_dbt(["build", *(part or []), "--exclude-resource-type", "unit_test"], target)
        command = "dbt build" + (" (assignment)" if part == ASSIGNMENT_PART else " (marts)" if part else "")
        if part == ASSIGNMENT_PART:  # kept beside the marts part's, which replaces run_results.json
            dbt_runner.keep_run_results("assignment")
    logger.info("%s: %s in %.1f s", command, dbt_runner.outcome(result), time.monotonic() - started)


@task(name="write-back-segments", cache_policy=NO_CACHE)
def write_back_task(target: Target) -> int:
    """Copy the assignment mart to ``leads.segment_id`` (short batches, only rows that differ),
    comparing only the leads whose mart row or lead row changed since the last completed
    write-back (a ``segment_id`` changed behind its back included)."""
    from leadgen.writeback import write_back_segments

    started = time.monotonic()
    changed = write_back_segments(target)
    get_run_logger().info(
        "write-back: %d leads changed in %.2f s (leads.segment_id)", changed, time.monotonic() - started
    )
    return changed


@task(name="check-new-work", cache_policy=NO_CACHE)
def assignment_work_pending(target: Target) -> str | None:
    """Why the assignment must run, or None: a watermark comparison, nothing more.

    The mart keeps ``source_updated_at``, the newest ``leads.updated_at`` it has read (its own
    incremental watermark). Work exists when a lead or a segment changed after it; which leads
    need which segment is decided in dbt, not here. Both checks are index range scans.
    """
    with connect(target) as conn:
        if not table_exists(conn, ASSIGNMENT_MART):
            return FIRST_RUN
        row = conn.execute(
            f"""
            with watermark as (
                select coalesce(max(source_updated_at), '-infinity') as seen_until
                from {ASSIGNMENT_MART}
            )
            select
                exists (select 1 from public.leads, watermark where leads.updated_at > watermark.seen_until),
                exists (
                    select 1 from public.lead_segments, watermark
                    where lead_segments.updated_at > watermark.seen_until
                )
            """
        ).fetchone()
    leads_changed, segments_changed = (bool(row[0]), bool(row[1])) if row else (True, True)
    if leads_changed:
        return "leads were created or changed since the last assignment"
    if segments_changed:
        return "segments changed since the last assignment"
    return None


@task(name="dbt-run-assignment", cache_policy=NO_CACHE)
def dbt_assign_task(target: Target, first_run: bool) -> None:
    """Only the assignment model (incremental: new and changed leads); on a first run also its parents."""
    model = ASSIGNMENT_MART.split(".")[1]
    started = time.monotonic()
    if first_run:  # seeds, parents and their data tests (unit tests are daily's)
        # cautious: not the tests that also read marts outside this selection (not built yet)
        args = ["build", "--select", f"+{model}", "--indirect-selection", "cautious",
                "--exclude-resource-type", "unit_test"]
    else:
        args = ["run", "--select", model]
    # deleted leads are daily's (two counts of the history); always the same vars, so dbt's partial
    # parse survives from one assign run to the next
    args += ["--vars", "{assignment_find_deleted_leads: false}"]
    result = dbt_runner.run_dbt(args, target)
    get_run_logger().info(
        "dbt %s %s: %s in %.1f s", args[0], model, dbt_runner.outcome(result), time.monotonic() - started
    )


@task(name="source-freshness", cache_policy=NO_CACHE)
def source_freshness_task(target: Target) -> list[str]:
    """``dbt source freshness`` (thresholds in models/staging/public/_public__sources.yml). A stale
    source is a warning and a line of the summary (``stale source: public.leads, newest 2 days
    ago``), never a stop: the night goes on with the data there is. So is a check that cannot run."""
    logger = get_run_logger()
    started = time.monotonic()
    try:
        results = dbt_runner.source_freshness(target)
    except dbt_runner.DbtRunError as exc:
        logger.warning("source freshness not checked: %s", exc)
        return [f"source freshness not checked: {exc}"]
    stale = [r.describe() for r in results if r.is_stale]
    for line in stale:
        logger.warning(line)
    outcome = dbt_runner.count_statuses((r.status for r in results), nothing="no source")
    logger.info("source freshness: %s in %.1f s", outcome, time.monotonic() - started)
    return stale


@task(name="publish-summary", cache_policy=NO_CACHE)
def summary_task(target: Target, notes: list[str] | None = None) -> Summary:
    """Yesterday per segment from the saved queries of the semantic layer, as a Prefect markdown
    artifact (the CLI prints it too); ``notes`` (stale sources) come first."""
    summary = load_summary(target)
    summary.notes = list(notes or [])
    create_markdown_artifact(
        key="leadgen-daily-summary",
        markdown=to_markdown(summary),
        description=f"leadgen daily summary for {summary.day}",
    )
    get_run_logger().info(headline(summary))
    return summary


REPORT_ARTIFACT = "leadgen-daily-report"


@task(name="write-report", cache_policy=NO_CACHE)
def report_task(target: Target) -> Path | None:
    """Rewrite the HTML report from the saved queries (leadgen.report) and publish where it is, with the
    first actions, as a Prefect markdown artifact next to the summary.

    A report that cannot be written is logged as a warning and does not fail the run: the marts
    and the write-back are what the run is for, the page is a view of them (``leadgen report``
    rewrites it on demand)."""
    from leadgen.report import default_report_path, write_report

    logger = get_run_logger()
    path = default_report_path()
    try:
        written = write_report(target, path)
    except Exception as exc:  # any failure of the view leaves the run's result alone
        logger.warning("report not written to %s: %s", path, exc)
        create_markdown_artifact(
            key=REPORT_ARTIFACT, markdown=f"# leadgen report\n\nNot written to `{path}`: {exc}",
            description="leadgen report (not written)",
        )
        return None
    logger.info("report written: %s", written)
    create_markdown_artifact(
        key=REPORT_ARTIFACT,
        markdown=f"# leadgen report\n\n[{written}]({written.as_uri()}) on the machine that ran the flow "
        "(self-contained HTML; `leadgen report` rewrites it from the marts).",
        description=f"leadgen report: {written}",
    )
    return written


@task(name="recount-stats-range", cache_policy=NO_CACHE)
def recount_stats_range_task(target: Target, start: date, end: date, manifest: Manifest) -> None:
    """Recount ``lead_generation_stats`` for the Amsterdam days ``start..end`` (one dbt run, one
    transaction: an interrupted chunk leaves the days as they were)."""
    dbt_vars = f"{{stats_start_date: '{start.isoformat()}', stats_end_date: '{end.isoformat()}'}}"
    started = time.monotonic()
    args = ["--quiet", "run", "--select", STATS_MODEL, "--vars", dbt_vars]  # the line below says it
    dbt_runner.run_dbt(args, target, manifest=manifest)
    seconds = time.monotonic() - started
    get_run_logger().info("%s recounted %s..%s in %.1f s", STATS_MODEL, start, end, seconds)


@task(name="test-stats", cache_policy=NO_CACHE)
def test_stats_task(target: Target) -> None:
    """The model's generic tests (keys, not null, relationships). The singular recounts against the
    assignment mart run in daily: between two daily runs `assign` moves today's leads ahead."""
    result = dbt_runner.run_dbt(["test", "--select", STATS_MODEL, "--exclude", "test_type:singular"], target)
    get_run_logger().info("dbt test %s: %s", STATS_MODEL, dbt_runner.outcome(result))


@task(name="test-whole-history", cache_policy=NO_CACHE)
def test_whole_history_task(target: Target) -> None:
    """The data tests of the history-sized marts and the invariants that recount them, over every
    day (the nightly build checks the last data_test_lookback_days days)."""
    args = ["test", "--select", f"{ASSIGNMENT_MART.split('.')[1]} {STATS_MODEL}",
            "--exclude-resource-type", "unit_test", "--vars", "{data_test_lookback_days: 0}"]
    result = dbt_runner.run_dbt(args, target)
    get_run_logger().info("dbt test over the whole history: %s", dbt_runner.outcome(result))


@task(name="check-platform", cache_policy=NO_CACHE)
def check_platform_task(target: Target) -> None:
    """The source contract, the role's access and the migrations (leadgen.check): a run stops here,
    before dbt, with every problem named."""
    from leadgen.check import require_platform

    report = require_platform(target)
    for note in report.notes:
        get_run_logger().info("check: %s", note)


# --- helpers -----------------------------------------------------------------------------------
def _summary_and_report(target: Target, notes: list[str]) -> Summary:
    """The summary artifact (``notes``, the stale sources, first), then the report written from the
    same marts (its own artifact)."""
    summary = summary_task(target, notes)
    report_task(target)
    return summary


def _is_flow_retry() -> bool:
    """True when Prefect re-runs this flow run (flow retries, or "Retry" in the UI)."""
    return (flow_run.run_count or 1) > 1


# --- flows -------------------------------------------------------------------------------------
@flow(name="refresh-partner-stats", log_prints=True, on_crashed=STOP_HOOKS)
def refresh_partner_stats() -> RefreshResult:
    """Refresh ``public.partner_performance_stats`` through its RPC."""
    target = resolve_target()
    try:
        with run_lock("refresh-partner-stats", target):
            return refresh_partner_stats_task(target)
    except FlowAlreadyRunningError as exc:
        return refused_run(exc)


@flow(name="assign", on_crashed=STOP_HOOKS)
def assign() -> int:
    """Lead -> segment for new and changed leads, then write-back; seconds when there is nothing new."""
    logger = get_run_logger()
    target = resolve_target()
    try:
        with run_lock("assign", target), serialized(MARTS, target, on_wait=logger.info):
            check_platform_task(target)
            reason = assignment_work_pending(target)
            if reason is None:
                logger.info("nothing new since the last assignment; done")
                return 0
            logger.info("assigning: %s", reason)
            dbt_assign_task(target, first_run=reason == FIRST_RUN)
            return write_back_task(target)
    except FlowAlreadyRunningError as exc:
        return refused_run(exc)


@flow(name="daily", on_crashed=STOP_HOOKS)
def daily(retry: bool = False) -> Summary:
    """Refresh the MV -> source freshness -> dbt build of the assignment -> write-back -> dbt build
    of the other marts (incl. today's capacity capture and segment_actions) -> summary (stale
    sources first) -> report (reports/index.html, or LEADGEN_REPORT_PATH). A failure in the other
    marts fails the run, naming every failing node, after the write-back and the summary.
    ``retry`` (or a Prefect retry of the
    run) re-runs only the dbt nodes that failed, then what had not run yet."""
    target = resolve_target()
    try:
        with run_lock("daily", target), serialized(MARTS, target, on_wait=get_run_logger().info):
            check_platform_task(target)
            refresh_partner_stats_task(target)
            failed = dbt_runner.previous_failed_selection() if retry or _is_flow_retry() else None
            stale = source_freshness_task(target)  # after reading the last build's results
            if failed is not None and REST_PART[1] in failed[1]:  # the marts part failed last time
                dbt_build_task(target, retry_failed=True)
                write_back_task(target)
                return _summary_and_report(target, stale)
            dbt_build_task(target, retry_failed=failed is not None, part=ASSIGNMENT_PART)
            write_back_task(target)
            try:
                dbt_build_task(target, part=REST_PART)
            except dbt_runner.DbtRunError as marts_failure:
                with contextlib.suppress(Exception):  # the summary and report of what did build
                    _summary_and_report(target, stale)
                raise marts_failure from None
            return _summary_and_report(target, stale)
    except FlowAlreadyRunningError as exc:
        return refused_run(exc)


@flow(name="backfill", on_crashed=STOP_HOOKS)
def backfill(start: date, end: date, progress: bool = True) -> int:
    """Recount ``lead_generation_stats`` for ``start..end`` (Amsterdam days), in chunks of
    BACKFILL_CHUNK_DAYS days (one dbt run each, one parse in all); idempotent. A repair tool: the
    daily run already follows every change of old leads.

    Capacity history is not rebuilt: a past day's capacity cannot be observed after the fact; each
    day keeps the capture it had (or the nearest earlier one, as the model documents).
    """
    logger = get_run_logger()
    target = resolve_target()
    validate_range(start, end, amsterdam_today())
    first_day = first_lead_day(target)
    start, note = clip_to_first_lead(start, first_day)
    if note:
        logger.info("backfill: %s", note)
    if first_day is None or start > end:
        return 0
    days = validate_range(start, end, amsterdam_today())
    try:
        with run_lock("backfill", target), serialized(MARTS, target, on_wait=logger.info):
            check_platform_task(target)
            _recount_chunks(target, days, progress=progress)
            test_stats_task(target)
    except FlowAlreadyRunningError as exc:
        return refused_run(exc)
    logger.info("backfill %s..%s: %s days recounted", start, end, len(days))
    return len(days)


@flow(name="check-history", on_crashed=STOP_HOOKS)
def check_history() -> Any:
    """Weekly (Sunday 05:00 Europe/Amsterdam): the recount invariants and the assignment's tests
    over the whole history, which the nightly build checks for the recent days only. A failure
    names the inconsistent days; `leadgen backfill` over them repairs the stats."""
    target = resolve_target()
    try:
        with run_lock("check-history", target), serialized(MARTS, target, on_wait=get_run_logger().info):
            check_platform_task(target)
            test_whole_history_task(target)
    except FlowAlreadyRunningError as exc:
        return refused_run(exc)
    return None


def _recount_chunks(target: Target, days: list[date], *, progress: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    chunks = [days[i : i + BACKFILL_CHUNK_DAYS] for i in range(0, len(days), BACKFILL_CHUNK_DAYS)]
    manifest = dbt_runner.parse(target)
    columns = (
        TextColumn("backfill {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
    )
    with Progress(*columns, disable=not progress) as bar:
        job = bar.add_task(f"{days[0]}..{days[-1]}", total=len(days))
        for chunk in chunks:
            bar.update(job, description=f"{chunk[0]}..{chunk[-1]}")
            recount_stats_range_task(target, chunk[0], chunk[-1], manifest)
            bar.advance(job, len(chunk))


FLOWS = {
    "assign": assign, "daily": daily, "refresh": refresh_partner_stats, "backfill": backfill,
    "check-history": check_history,
}
