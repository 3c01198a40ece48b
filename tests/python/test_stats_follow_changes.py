"""Issue 16.1: lead_generation_stats follows the changes of old leads, whatever their age.

One marketplace of 150 days is built once; then a platform's routine edits land on leads far
older than any window (postcode, industry and province edits, a status change 60+ days after
the lead arrived, deleted leads, a deleted segment with history, a deactivated segment, a lead
re-assigned twice between two stats builds), and the next incremental `dbt build` must pass every
data test over the whole history and equal an independent recount from public.leads, while
recounting only the (segment, day) pairs those edits touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from leadgen.config import Target
from leadgen.db import connect
from recount import STATS_RECOUNT_MISMATCHES

pytestmark = pytest.mark.slow

TZ = "Europe/Amsterdam"
MARKETPLACE = {"partners": 120, "leads": 5000, "days": 150, "seed": 11}
WHOLE_HISTORY = "{data_test_lookback_days: 0}"


def rows(target: Target, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with connect(target) as conn:
        return conn.execute(query, {"tz": TZ, **(params or {})}).fetchall()  # type: ignore[arg-type]


def scalar(target: Target, query: str, params: dict[str, Any] | None = None) -> Any:
    return rows(target, query, params)[0][0]


def execute(target: Target, *statements: str) -> None:
    with connect(target) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def long_history(make_db: Callable[..., Target], dbt: Callable[..., Any]) -> Target:
    """150 days of leads, built once (first build of every model)."""
    from leadgen.generate import generate_marketplace
    from leadgen.migrate import apply_migrations
    from leadgen.standin import init_stand_in

    target = make_db("long_history")
    init_stand_in(target)
    apply_migrations(target)
    now = datetime.now(UTC).replace(microsecond=0)
    generate_marketplace(target, progress=False, now=now, **MARKETPLACE)
    dbt(target, "build", "--exclude-resource-type", "unit_test")
    return target


@pytest.fixture
def edited(long_history: Target, make_db: Callable[..., Target]) -> Target:
    return make_db("edited", template=long_history.dbname)


def _old_matched_leads(target: Target, n: int, offset: int) -> list[str]:
    """Matched leads created 30-140 days ago, spread over the days (a different set per offset)."""
    return [r[0] for r in rows(
        target,
        "select a.lead_id::text from analytics.lead_segment_assignments as a"
        " where a.segment_id is not null"
        " and a.lead_created_at < now() - interval '30 days'"
        " and a.lead_created_at > now() - interval '140 days'"
        " order by md5(a.lead_id::text) limit %(n)s offset %(offset)s",
        {"n": n, "offset": offset},
    )]


def _in(ids: list[str]) -> str:
    return ", ".join(f"'{i}'" for i in ids)


def test_routine_edits_of_old_leads_are_recounted_exactly(edited: Target, dbt: Callable[..., Any]) -> None:
    target = edited
    pairs_before = scalar(target, "select count(*) from analytics.lead_generation_stats")
    postcode_moved = _old_matched_leads(target, 40, 0)
    industry_moved = _old_matched_leads(target, 35, 40)
    province_moved = _old_matched_leads(target, 35, 75)
    deleted = _old_matched_leads(target, 5, 110)
    late = rows(
        target,
        "select l.id::text from public.leads as l"
        " inner join analytics.lead_segment_assignments as a on a.lead_id = l.id and a.segment_id is not null"
        " where l.status <> 'accepted' and l.created_at < now() - interval '60 days' order by l.id limit 1",
    )
    assert late, "the marketplace has no undecided matched lead older than 60 days"
    late_id = late[0][0]
    # a segment with history, deleted (its links and plans cascade; leads.segment_id is set null)
    deleted_segment = scalar(
        target,
        "select segment_id::text from analytics.lead_generation_stats where date < current_date - 60"
        " group by 1 order by sum(leads_generated) desc limit 1",
    )
    execute(
        target,
        # postcodes of leads in other PC4 ranges: another municipality, often another segment
        f"""update public.leads as l set postcode = o.postcode
            from (select id, lead(postcode, 7) over (order by md5(id::text)) as postcode
                  from public.leads where postcode ~ '^[1-9][0-9]{{3}} ?[A-Z]{{2}}$') as o
            where l.id = o.id and o.postcode is not null and l.id in ({_in(postcode_moved)})""",
        f"""update public.leads set industry_id = (
                select i.id from public.industries as i where i.id is distinct from leads.industry_id
                order by md5(i.id::text || leads.id::text) limit 1)
            where id in ({_in(industry_moved)})""",
        f"""update public.leads set postcode = null,
                province = (array['Friesland', 'Zeeland', 'Limburg', 'Drenthe'])
                    [1 + abs(hashtext(id::text)) % 4]
            where id in ({_in(province_moved)})""",
        f"update public.leads set status = 'accepted' where id = '{late_id}'",
        f"delete from public.leads where id in ({_in(deleted)})",
        f"delete from public.lead_segments where id = '{deleted_segment}'",
    )
    dbt(target, "build", "--exclude-resource-type", "unit_test")

    assert rows(target, STATS_RECOUNT_MISMATCHES) == []
    assert scalar(
        target, "select count(*) from analytics.lead_generation_stats where segment_id = %(s)s",
        {"s": deleted_segment},
    ) == 0
    assert scalar(
        target,
        "select count(*) from analytics.lead_segment_assignments"
        f" where lead_id in ({_in(deleted)}) and unmatched_reason = 'lead_deleted'",
    ) == len(deleted)
    # every data test over the whole history passes (they failed here before: issue 16.1)
    dbt(target, "test", "--vars", WHOLE_HISTORY)
    # the cost follows the changes: only the touched pairs (plus today and yesterday) were recounted
    recounted = scalar(
        target,
        "select count(*) from analytics.lead_generation_stats"
        " where rebuilt_at = (select max(rebuilt_at) from analytics.lead_generation_stats)",
    )
    n_segments = scalar(target, "select count(distinct segment_id) from analytics.lead_generation_stats")
    edits = len(postcode_moved) + len(industry_moved) + len(province_moved) + len(deleted) + 1
    assert recounted <= 2 * edits + 2 * n_segments, (recounted, pairs_before)
    assert recounted < pairs_before / 4


def test_a_lead_moved_twice_between_stats_builds_leaves_no_stale_day(
    edited: Target, dbt: Callable[..., Any]
) -> None:
    """assign runs every 10 minutes, the stats once a night: a lead re-assigned twice in between
    must leave neither its first nor its second segment miscounted."""
    target = edited
    lead_id = _old_matched_leads(target, 1, 200)[0]
    postcodes = [r[0] for r in rows(
        target,
        "select min(postcode) from public.leads where postcode ~ '^[1-9][0-9]{3} ?[A-Z]{2}$'"
        " group by left(postcode, 1) order by 1 limit 2",
    )]
    for postcode in postcodes:
        execute(target, f"update public.leads set postcode = '{postcode}' where id = '{lead_id}'")
        dbt(target, "run", "--select", "lead_segment_assignments")  # what the assign flow runs
    dbt(target, "build", "--exclude-resource-type", "unit_test", "--vars", WHOLE_HISTORY)
    assert rows(target, STATS_RECOUNT_MISMATCHES) == []


def test_status_only_change_keeps_a_lead_in_its_inactive_segment(
    edited: Target, dbt: Callable[..., Any]
) -> None:
    target = edited
    lead_id, segment_id = rows(
        target,
        "select lead_id::text, segment_id::text from analytics.lead_segment_assignments"
        " where segment_id is not null and status_bucket = 'pending'"
        " and lead_created_at < now() - interval '30 days' order by lead_id limit 1",
    )[0]
    execute(
        target,
        f"update public.lead_segments set is_active = false where id = '{segment_id}'",
        f"update public.leads set status = 'rejected' where id = '{lead_id}'",
    )
    dbt(target, "build", "--exclude-resource-type", "unit_test", "--vars", WHOLE_HISTORY)
    kept = rows(
        target,
        "select segment_id::text, status_bucket from analytics.lead_segment_assignments"
        " where lead_id = %(l)s",
        {"l": lead_id},
    )
    assert kept == [(segment_id, "rejected")]
    assert rows(target, STATS_RECOUNT_MISMATCHES) == []
    # a deactivated segment's rows end at its last lead day
    last_row, last_lead = rows(
        target,
        "select max(s.date), (select max((a.lead_created_at at time zone %(tz)s)::date)"
        "   from analytics.lead_segment_assignments as a where a.segment_id = %(s)s)"
        " from analytics.lead_generation_stats as s where s.segment_id = %(s)s",
        {"s": segment_id},
    )[0]
    assert last_row == last_lead


def test_backfill_stops_within_5_s_of_sigterm_and_leaves_the_stats_consistent(
    edited: Target, dbt: Callable[..., Any], local_prefect_server: dict[str, str]
) -> None:
    """A backfill of the whole history is stopped while its first chunk runs (held at the stats
    table by a lock, so the signal lands inside the chunk's transaction): it exits 143 within
    5 s, no dbt query is left, and the stats still equal the recount; a second backfill
    completes with the same numbers."""
    import signal
    import subprocess
    import time

    from conftest import LEADGEN_CLI, leadgen_env

    target = edited
    env = leadgen_env(target, **{k: v for k, v in local_prefect_server.items() if k != "log"})
    first_day = scalar(target, "select min(date)::text from analytics.lead_generation_stats")
    today = scalar(target, "select (now() at time zone %(tz)s)::date::text")
    command = [LEADGEN_CLI, "backfill", "--start", first_day, "--end", today, "--yes"]
    blocker = connect(target)
    blocker.execute("begin")
    blocker.execute("lock table analytics.lead_generation_stats in share mode")  # type: ignore[arg-type]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not rows(
            target,
            "select 1 from pg_stat_activity where datname = current_database()"
            " and application_name like 'dbt%%' and wait_event_type = 'Lock'",
        ):
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the backfill never reached the stats table"
            time.sleep(0.3)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        stopped_after = time.monotonic() - signalled
    finally:
        blocker.rollback()
        blocker.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, process.communicate()[0][-3000:]
    assert stopped_after < 5, stopped_after
    assert rows(
        target,
        "select pid from pg_stat_activity where datname = current_database()"
        " and application_name like 'dbt%%' and pid <> pg_backend_pid()",
    ) == []
    assert rows(target, STATS_RECOUNT_MISMATCHES) == []
    before = rows(target, "select * from analytics.lead_generation_stats order by 1, 2")
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-2000:]
    after = rows(target, "select * from analytics.lead_generation_stats order by 1, 2")
    assert [r[:-1] for r in after] == [r[:-1] for r in before]  # all but rebuilt_at
    assert rows(target, STATS_RECOUNT_MISMATCHES) == []


def test_the_weekly_history_check_finds_a_miscounted_day_the_nightly_window_misses(
    edited: Target, dbt: Callable[..., Any], local_prefect_server: dict[str, str]
) -> None:
    import subprocess

    from conftest import LEADGEN_CLI, leadgen_env

    target = edited
    execute(
        target,
        "update analytics.lead_generation_stats set leads_generated = leads_generated + 1"
        " where (segment_id, date) = (select segment_id, date from analytics.lead_generation_stats"
        "   where date = current_date - 100 and leads_generated > 0 order by segment_id limit 1)",
    )
    nightly = dbt(target, "test", "--select", "assert_lead_stats_sum_to_assigned_leads", check=False)
    assert nightly.returncode == 0, "the nightly window (28 days) does not reach 100 days back"
    env = leadgen_env(target, **{k: v for k, v in local_prefect_server.items() if k != "log"})
    weekly = subprocess.run(
        [LEADGEN_CLI, "run", "check-history"], env=env, capture_output=True, text=True, timeout=600
    )
    assert weekly.returncode != 0
    assert "assert_lead_stats_sum_to_assigned_leads" in weekly.stdout + weekly.stderr


def test_tables_built_by_the_previous_release_upgrade_in_place(
    edited: Target, dbt: Callable[..., Any]
) -> None:
    """A platform that has run for a year: its assignment mart has no written_at, its stats no
    rebuilt_at and there is no day log. The next build adds them in place (no --full-refresh, the
    stickiness kept), and from then on an edit of an old lead is recounted exactly."""
    target = edited
    kept = rows(target, "select lead_id, segment_id from analytics.lead_segment_assignments order by 1")
    execute(
        target,
        "alter table analytics.lead_segment_assignments drop column written_at cascade",
        "alter table analytics.lead_generation_stats drop column rebuilt_at cascade",
        "drop table intermediate.int_lead_segment_days_logged",
    )
    # and, as an older release built it, a uuid industry_id (the views of today read the mart)
    dbt(target, "run", "--select", "int_segment_stats_bounds")
    execute(target, "alter table analytics.lead_segment_assignments alter column industry_id type uuid"
                    " using industry_id::uuid")
    dbt(target, "build", "--exclude-resource-type", "unit_test")
    assert scalar(
        target,
        "select format_type(atttypid, atttypmod) from pg_attribute"
        " where attrelid = 'analytics.lead_segment_assignments'::regclass and attname = 'industry_id'",
    ) == "text"
    after = rows(target, "select lead_id, segment_id from analytics.lead_segment_assignments order by 1")
    assert after == kept
    assert rows(target, STATS_RECOUNT_MISMATCHES) == []
    moved = _old_matched_leads(target, 20, 300)
    execute(
        target,
        f"update public.leads set postcode = null, province = 'Zeeland' where id in ({_in(moved)})",
    )
    dbt(target, "build", "--exclude-resource-type", "unit_test", "--vars", WHOLE_HISTORY)
    assert rows(target, STATS_RECOUNT_MISMATCHES) == []
