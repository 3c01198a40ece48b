"""The Prefect flows against the real database.

One module-scoped database runs the ``daily`` flow end to end (a real flow run on the suite's
Prefect test server); the other tests reuse what it built, in file order, and the one test that
breaks data runs last. Flow logic without orchestration goes through ``.fn()``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from leadgen import dbt_runner, pipeline, preflight
from leadgen.config import Target
from leadgen.db import connect
from leadgen.locks import MARTS, FlowAlreadyRunningError, run_lock, serialized
from leadgen.summary import Summary, load_summary, to_markdown
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from prefect.exceptions import ObjectNotFound
from prefect.states import State

T = TypeVar("T")

pytestmark = pytest.mark.slow


def _use_target(mp: pytest.MonkeyPatch, target: Target, dbt_target_path: Path) -> None:
    """Point leadgen (libpq variables) and dbt's artifacts at this test's database and folder."""
    mp.delenv("DATABASE_URL", raising=False)
    for key, value in target.env.items():
        mp.setenv(key, value)
    mp.setenv("DBT_TARGET_PATH", str(dbt_target_path))
    mp.setenv("LEADGEN_REPORT_PATH", str(dbt_target_path / "report" / "index.html"))


def eventually(check: Callable[[], T], timeout: float = 60) -> T:
    """``check()`` once it passes (no AssertionError, the object found), retried for ``timeout`` s:
    what a flow reports reaches the Prefect API in the background, later on a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, ObjectNotFound):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _rows(target: Target, query: str) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


@dataclass
class DailyRun:
    target: Target
    state: State
    seconds: float
    dbt_target_path: Path


@pytest.fixture(scope="module")
def daily_run(
    prefect_harness: None,
    platform_db: Target,
    make_db: Callable[..., Target],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DailyRun]:
    target = make_db("flows", template=platform_db.dbname)
    dbt_target_path = tmp_path_factory.mktemp("dbt_target")
    with pytest.MonkeyPatch.context() as mp:
        _use_target(mp, target, dbt_target_path)
        started = time.monotonic()
        state = pipeline.daily(return_state=True)
        yield DailyRun(target, state, time.monotonic() - started, dbt_target_path)


# --- no database needed ------------------------------------------------------------------------
def test_validate_range_lists_the_days_inclusive() -> None:
    days = preflight.validate_range(date(2025, 1, 30), date(2025, 2, 2), today=date(2025, 3, 1))
    assert days == [date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1), date(2025, 2, 2)]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2025, 2, 2), date(2025, 2, 1), "backfill start 2025-02-02 is after end 2025-02-01"),
        (date(2025, 2, 1), date(2025, 3, 2), "backfill end 2025-03-02 is in the future"),
    ],
)
def test_validate_range_refuses_impossible_ranges(start: date, end: date, message: str) -> None:
    with pytest.raises(preflight.InvalidDateRangeError, match=message):
        preflight.validate_range(start, end, today=date(2025, 3, 1))


# --- locks -------------------------------------------------------------------------------------
def test_a_second_run_of_the_same_flow_is_refused_while_the_first_holds_the_lock(empty_db: Target) -> None:
    with run_lock("daily", empty_db):
        refused = pytest.raises(FlowAlreadyRunningError, match="another daily run is in progress")
        with refused, run_lock("daily", empty_db):
            pass
        with run_lock("assign", empty_db):  # other flows are not blocked
            pass
    with run_lock("daily", empty_db):  # released when the first run ends
        pass


def test_flows_writing_the_marts_wait_for_each_other_instead_of_interleaving(empty_db: Target) -> None:
    events: list[str] = []
    first_holds = threading.Event()
    release = threading.Event()

    def first() -> None:
        with serialized(MARTS, empty_db):
            events.append("first in")
            first_holds.set()
            release.wait(10)
            events.append("first out")

    worker = threading.Thread(target=first)
    worker.start()
    first_holds.wait(10)
    threading.Timer(0.5, release.set).start()
    with serialized(MARTS, empty_db, on_wait=events.append):
        events.append("second in")
    worker.join()
    waited = "waiting for another run that is writing the marts"
    assert events == ["first in", waited, "first out", "second in"]


def test_daily_refuses_to_start_while_another_daily_run_holds_the_lock(
    empty_db: Target, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _use_target(monkeypatch, empty_db, tmp_path)
    with run_lock("daily", empty_db):
        state = pipeline.daily.fn()  # returns the run's final state: Cancelled, not a Failed run
    assert state.is_cancelled()
    assert state.message.startswith("another daily run is in progress on database")
    assert "\n" not in state.message


# --- refresh-partner-stats ----------------------------------------------------------------------
def test_refresh_partner_stats_refreshes_the_mv_and_reports_its_rows(
    prefect_harness: None, db_copy: Target, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _use_target(monkeypatch, db_copy, tmp_path)
    with connect(db_copy, autocommit=True) as conn:
        conn.execute("update public.leads set status = 'new' where status = 'accepted'")
    result = pipeline.refresh_partner_stats.fn()
    with connect(db_copy) as conn:
        rows = conn.execute("select count(*), sum(leads_accepted_30d) from public.partner_performance_stats")
        count, accepted = rows.fetchone()  # type: ignore[misc]
    assert result.rows == count > 0
    assert accepted == 0  # the MV now reflects the change: it was refreshed


def test_refresh_retries_connection_errors_only(prefect_harness: None, empty_db: Target) -> None:
    fast = pipeline.refresh_partner_stats_task.with_options(retry_delay_seconds=0)
    unreachable = Target("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2", False, "test", {})
    no_function = empty_db  # reachable, but the RPC does not exist: retrying cannot help
    with get_client(sync_client=True) as client:
        states = {"down": fast(unreachable, return_state=True), "bug": fast(no_function, return_state=True)}
        # Task runs report to the API in the background: read them once the API has their final
        # (failed) state, so run_count is final too.
        def final_runs() -> dict[str, int]:
            task_runs = {k: client.read_task_run(s.state_details.task_run_id) for k, s in states.items()}
            assert all(t.state is not None and t.state.is_failed() for t in task_runs.values())
            return {k: t.run_count for k, t in task_runs.items()}

        runs = eventually(final_runs)
    assert all(s.is_failed() for s in states.values())
    assert runs == {"down": 4, "bug": 1}  # 1 + 3 retries on OperationalError; none on a SQL error


# --- daily, end to end ---------------------------------------------------------------------------
def test_daily_builds_the_marts_and_writes_segments_back(daily_run: DailyRun) -> None:
    assert daily_run.state.is_completed(), daily_run.state.message
    target = daily_run.target
    [(leads, assigned, written, mismatched)] = _rows(
        target,
        """
        select count(*), count(a.segment_id), count(l.segment_id),
               count(*) filter (where l.segment_id is distinct from a.segment_id)
        from public.leads as l
        left join analytics.lead_segment_assignments as a on a.lead_id = l.id
        """,
    )
    assert leads > 0 and assigned > 0.8 * leads
    assert written == assigned and mismatched == 0  # the write-back copied every assignment
    marts = ("segment_capacity", "segment_capacity_daily", "lead_generation_stats", "segment_supply_demand")
    for mart in marts:
        [(n,)] = _rows(target, f"select count(*) from analytics.{mart}")
        assert n > 0, mart
    [(captured_today,)] = _rows(
        target,
        """select count(*) from analytics.segment_capacity_daily
           where capture_date = (now() at time zone 'Europe/Amsterdam')::date""",
    )
    assert captured_today > 0  # the capacity capture of the day is part of the run


def test_daily_shows_every_dbt_node_as_a_task_and_publishes_the_summary(daily_run: DailyRun) -> None:
    flow_run_id = daily_run.state.state_details.flow_run_id
    summary: Summary = daily_run.state.result()  # type: ignore[assignment]
    with get_client(sync_client=True) as client:
        this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))

        def check() -> None:  # task runs and artifacts reach the API in the background
            task_runs: list = []
            while batch := client.read_task_runs(flow_run_filter=this_run, limit=200, offset=len(task_runs)):
                task_runs += batch
            names = {t.name for t in task_runs}
            summary_key = ArtifactFilter(key=ArtifactFilterKey(any_=["leadgen-daily-summary"]))
            artifacts = client.read_artifacts(artifact_filter=summary_key, flow_run_filter=this_run)
            assert "model lead_segment_assignments" in names
            assert "model lead_generation_stats" in names
            assert any(n.startswith("test ") for n in names)
            assert any(n.startswith("seed ") for n in names)
            assert artifacts and f"leadgen daily summary for {summary.day}" in artifacts[0].data

        eventually(check)


def test_daily_writes_the_report_of_its_day_and_links_it_from_the_run(daily_run: DailyRun) -> None:
    report = daily_run.dbt_target_path / "report" / "index.html"
    [(today, actions, segments)] = _rows(
        daily_run.target,
        """select (now() at time zone 'Europe/Amsterdam')::date, count(*), count(distinct segment_id)
           from analytics.segment_actions""",
    )
    assert actions > 0  # segment_actions is built by daily's marts part
    html = report.read_text(encoding="utf-8")
    assert f"Report for {today}" in html and f"Needs attention: {segments} segments" in html
    assert f"<code>{daily_run.target.dbname}</code>" in html and "postgresql://" not in html
    flow_run_id = daily_run.state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        key = ArtifactFilter(key=ArtifactFilterKey(any_=[pipeline.REPORT_ARTIFACT]))

        def check() -> None:
            artifacts = client.read_artifacts(artifact_filter=key, flow_run_filter=this_run)
            assert artifacts and report.as_uri() in str(artifacts[0].data)

        eventually(check)


def test_the_summary_numbers_are_the_marts_numbers(daily_run: DailyRun) -> None:
    target = daily_run.target
    summary = load_summary(target)
    stats = {
        str(r[0]): r[1:]
        for r in _rows(
            target,
            """select segment_id, leads_generated, leads_accepted, acceptance_rate
               from analytics.lead_generation_stats
               where date = (now() at time zone 'Europe/Amsterdam')::date - 1""",
        )
    }
    health = {
        str(r[0]): r[1:]
        for r in _rows(
            target, "select segment_id, health_class, free_capacity from analytics.segment_supply_demand"
        )
    }
    assert summary.total_leads == sum(v[0] for v in stats.values()) > 0
    assert len(summary.segments) == len(set(stats) | set(health))
    for line in summary.segments:
        leads, accepted, rate = stats.get(line.segment_id, (0, 0, None))
        assert (line.leads, line.accepted) == (leads, accepted)
        # the metric (saved query daily_summary) is unrounded; the mart rounds to 4 decimals
        want = None if rate is None else pytest.approx(float(rate), abs=5e-5)
        assert line.acceptance_rate == want, line
        assert (line.health_class, line.free_capacity) == health.get(line.segment_id, (None, None))
    flagged = {s.segment_id for s in summary.needing_attention}
    assert flagged == {k for k, (h, _) in health.items() if h != "healthy"}


# --- assign ------------------------------------------------------------------------------------
def test_assign_settles_then_is_a_quick_no_op_and_picks_up_a_new_lead(daily_run: DailyRun) -> None:
    target = daily_run.target
    pipeline.assign()  # reads the leads the daily write-back touched; changes nothing
    assert pipeline.assignment_work_pending.fn(target) is None
    run_results = daily_run.dbt_target_path / "run_results.json"
    last_dbt_run = run_results.stat().st_mtime_ns
    assert pipeline.assign() == 0
    assert run_results.stat().st_mtime_ns == last_dbt_run, "a no-op assign must not invoke dbt"

    with connect(target, autocommit=True) as conn:
        [(source_id, expected)] = conn.execute(
            "select id, segment_id from public.leads where segment_id is not null order by id limit 1"
        ).fetchall()
        [(lead_id,)] = conn.execute(
            """insert into public.leads (industry_id, postcode, province, status)
               select industry_id, postcode, province, 'new' from public.leads where id = %s
               returning id""",
            (source_id,),
        ).fetchall()
    assert pipeline.assignment_work_pending.fn(target) is not None
    assert pipeline.assign() >= 1
    [(segment_id,)] = _rows(target, f"select segment_id from public.leads where id = '{lead_id}'")
    assert segment_id == expected  # same industry, postcode and province: the same segment


# --- backfill ----------------------------------------------------------------------------------
def _stats(target: Target) -> list[tuple]:
    # every column but rebuilt_at (when a row was last recounted)
    return _rows(target, "select segment_id, date, leads_generated, leads_accepted, leads_rejected,"
                         " leads_pending, capacity_partners, capacity_total_leads, acceptance_rate"
                         " from analytics.lead_generation_stats order by segment_id, date")


def test_backfill_twice_over_the_same_range_gives_identical_tables(daily_run: DailyRun) -> None:
    target = daily_run.target
    end = preflight.amsterdam_today() - timedelta(days=1)
    start = end - timedelta(days=2)
    before = _stats(target)
    assert pipeline.backfill(start=start, end=end, progress=False) == 3
    first = _stats(target)
    assert pipeline.backfill(start=start, end=end, progress=False) == 3
    second = _stats(target)
    assert first == second
    assert first == before  # nothing changed in the data, so the rebuild reproduces the daily build


# --- a failing dbt test (mutates the database: keep last) ----------------------------------------
@flow(name="build-segments-staging")
def _build_segment_staging() -> None:
    # --warn-error: an out-of-vocabulary segment is only a warning in production (it must not
    # stop the night); here it is the failing test the flow must name and retry must re-run
    dbt_runner.run_dbt(["build", "--select", "stg_public__lead_segments", "--warn-error"])


def test_a_failing_dbt_test_fails_the_flow_by_name_and_retry_reruns_only_that(daily_run: DailyRun) -> None:
    target = daily_run.target
    with connect(target, autocommit=True) as conn:
        conn.execute(
            "insert into public.lead_segments (branch, region, is_active)"
            " values ('schilder', 'atlantis', false)"
        )
    state = _build_segment_staging(return_state=True)
    assert state.is_failed()
    assert "relationships_stg_public__lead_segments_region_code" in state.message
    results = json.loads((daily_run.dbt_target_path / "run_results.json").read_text())
    failed = {r["unique_id"] for r in results["results"] if r["status"] in ("fail", "error", "skipped")}
    assert len(failed) < len(results["results"])  # the view and the other tests passed
    assert dbt_runner.previous_run_failed("build")

    with connect(target, autocommit=True) as conn:
        conn.execute("delete from public.lead_segments where region = 'atlantis'")
    pipeline.dbt_build_task(target, retry_failed=True)
    retried = json.loads((daily_run.dbt_target_path / "run_results.json").read_text())
    assert {r["unique_id"] for r in retried["results"]} == failed
    assert all(r["status"] == "pass" for r in retried["results"])


def test_an_unreachable_database_is_one_clear_error() -> None:
    bad = Target("host=127.0.0.1 port=1 dbname=x user=x", False, "libpq environment", {})
    with pytest.raises(preflight.DatabaseUnreachableError, match="cannot connect to the database") as err:
        preflight.check_database(bad)
    assert "\n" not in str(err.value)
    assert isinstance(err.value.__cause__, psycopg.OperationalError)


# --- deployments ---------------------------------------------------------------------------------
def test_prefect_yaml_passes_prefects_own_loader_with_the_schedules() -> None:
    from leadgen.serve import PREFECT_YAML
    from prefect.cli.deploy._config import _load_deploy_configs_and_actions
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.flows import load_flow_from_entrypoint
    from rich.console import Console

    console = Console(record=True, width=200)
    configs, _ = _load_deploy_configs_and_actions(PREFECT_YAML, console=console)
    assert console.export_text() == ""  # the loader prints validation problems and skips the file
    by_name = {c["name"]: c for c in configs}
    assert set(by_name) == {
        "daily", "assign", "refresh-partner-stats", "backfill", "migrate", "check-history"
    }
    crons = {
        name: [_schedule_config_to_deployment_schedule(s)["schedule"] for s in c.get("schedules") or []]
        for name, c in by_name.items()
    }
    assert crons["daily"] == [CronSchedule(cron="0 3 * * *", timezone="Europe/Amsterdam")]
    assert crons["assign"] == [CronSchedule(cron="*/10 * * * *", timezone="Europe/Amsterdam")]
    assert crons["check-history"] == [CronSchedule(cron="0 5 * * 0", timezone="Europe/Amsterdam")]
    assert crons["backfill"] == crons["migrate"] == crons["refresh-partner-stats"] == []
    for name, config in by_name.items():
        assert load_flow_from_entrypoint(config["entrypoint"]).name == name


def test_leadgen_serve_registers_every_deployment_with_its_schedule(prefect_harness: None) -> None:
    from leadgen.serve import build_deployments

    with get_client(sync_client=True) as client:
        for deployment in build_deployments():
            deployment.apply()
        registered = {d.name: d for d in client.read_deployments()}
    # Named apart from the work-pool deployments of prefect.yaml: stopping serve pauses only its own.
    served = {"daily-serve", "assign-serve", "backfill-serve", "migrate-serve", "refresh-partner-stats-serve"}
    assert served <= set(registered)
    daily_schedule = registered["daily-serve"].schedules[0].schedule
    assert (daily_schedule.cron, daily_schedule.timezone) == ("0 3 * * *", "Europe/Amsterdam")
    assign_schedule = registered["assign-serve"].schedules[0].schedule
    assert (assign_schedule.cron, assign_schedule.timezone) == ("*/10 * * * *", "Europe/Amsterdam")
    assert registered["backfill-serve"].schedules == [] and registered["migrate-serve"].schedules == []


def test_a_failing_mart_never_holds_up_the_assignment_and_retry_finishes_the_rest(
    daily_run: DailyRun, make_db: Callable[..., Target], tmp_path: Path
) -> None:
    """The capacity history out of sync (a column nobody expects) fails the marts part: the run
    fails naming it, yet the new lead is assigned and written back; once fixed, a retry re-runs
    only what failed and the run completes."""
    target = make_db("marts_fail", template=daily_run.target.dbname)
    with connect(target, autocommit=True) as conn:
        conn.execute("alter table analytics.segment_capacity_daily add column unexpected integer")
        [(lead_id,)] = conn.execute(
            "insert into public.leads (created_at, updated_at, industry_id, province, postcode, status) "
            "select now(), now(), industry_id, province, postcode, 'new' from public.leads "
            "where segment_id is not null limit 1 returning id"
        ).fetchall()
    with pytest.MonkeyPatch.context() as mp:
        _use_target(mp, target, tmp_path)
        state = pipeline.daily(return_state=True)
        assert state.is_failed()
        assert "segment_capacity_daily" in (state.message or ""), state.message
        [(written,)] = _rows(target, f"select segment_id from public.leads where id = '{lead_id}'")
        assert written is not None  # assigned and written back although the marts failed
        first = json.loads((tmp_path / "run_results.json").read_text())["results"]
        failed = {r["unique_id"] for r in first if r["status"] in ("error", "fail", "skipped")}
        assert "model.leadgen.segment_capacity_daily" in failed and len(failed) < len(first)
        with connect(target, autocommit=True) as conn:
            conn.execute("alter table analytics.segment_capacity_daily drop column unexpected")
        retried = pipeline.daily(retry=True, return_state=True)
        assert retried.is_completed(), retried.message
    retried_nodes = json.loads((tmp_path / "run_results.json").read_text())["results"]
    assert {r["unique_id"] for r in retried_nodes} == failed  # only what failed or was skipped
    assert not [r for r in retried_nodes if r["status"] in ("error", "fail", "skipped")]


# --- source freshness --------------------------------------------------------------------------
def test_freshness_lines_say_the_age_the_way_a_person_does() -> None:
    stale = dbt_runner.SourceFreshness("public.leads", "error", datetime(2026, 1, 1, tzinfo=UTC), 2.5 * 86400)
    assert stale.describe() == "stale source: public.leads, newest 2 days ago"
    assert dbt_runner.SourceFreshness("public.x", "warn", datetime(2026, 1, 1, tzinfo=UTC), 7 * 3600 + 5
                                      ).describe() == "stale source: public.x, newest 7 hours ago"
    assert dbt_runner.describe_age(61) == "1 minute"
    assert dbt_runner.SourceFreshness("public.x", "runtime error", message="boom").describe() == (
        "source freshness of public.x not checked: boom"
    )
    assert not dbt_runner.SourceFreshness("public.x", "pass").is_stale


def test_a_stale_source_warns_in_the_summary_and_the_night_goes_on(
    daily_run: DailyRun, make_db: Callable[..., Target], tmp_path: Path
) -> None:
    """Nobody has touched a segment for 200 days (lead_segments warns after 180): daily completes,
    the summary (terminal and artifact) starts with the stale source; the fresh ones say nothing."""
    target = make_db("stale", template=daily_run.target.dbname)
    with connect(target, autocommit=True) as conn:
        conn.execute("alter table public.lead_segments disable trigger user")  # keep our updated_at
        conn.execute("update public.lead_segments set updated_at = now() - interval '200 days'")
        conn.execute("alter table public.lead_segments enable trigger user")
    with pytest.MonkeyPatch.context() as mp:
        _use_target(mp, target, tmp_path)
        state = pipeline.daily(return_state=True)
    assert state.is_completed(), state.message
    summary: Summary = state.result()  # type: ignore[assignment]
    assert summary.notes == ["stale source: public.lead_segments, newest 200 days ago"]
    assert "- **stale source: public.lead_segments, newest 200 days ago**" in to_markdown(summary)
    freshness = json.loads((tmp_path / "sources.json").read_text())["results"]
    assert {r["unique_id"].split(".", 2)[2]: r["status"] for r in freshness} == {
        "public.leads": "pass", "public.partner_performance_stats": "pass", "public.lead_segments": "warn",
    }
