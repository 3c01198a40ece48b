"""Resilience of the flows (issue #6): kill anywhere, idempotence, late data, live traffic, the
database going away, and bad data. Real PostgreSQL, the real CLI in a subprocess.

SLOW MODULE (budget ≈ 6 min on 2 cores): every scenario runs `leadgen run daily|assign` or
`leadgen backfill` as a user would. Expensive setup is shared: one "yesterday" database (the small
marketplace after one daily run) is the template of every scenario, and one reference run over the
same changes is the baseline every killed-and-rerun copy is compared with.

The changes applied on top of "yesterday" (``apply_changes``, deterministic, identical in every copy):
new leads of today, a status change 10 days back (inside the stats lookback) and one 20 days back
(beyond it), leads and partners full of NULLs and garbage, and ``leads.segment_id`` cleared so the
write-back has more than one batch to do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from leadgen.config import PROJECT_ROOT, Target

pytestmark = pytest.mark.slow

BIN = Path(os.sys.executable).parent  # type: ignore[attr-defined]
FLOW_TIMEOUT = 300
# Columns whose value is the wall-clock time of a run (two correct runs differ in them).
RUN_TIME_COLUMNS = {
    "assigned_at", "captured_at", "source_updated_at", "refreshed_at", "updated_at",
    "written_at", "rebuilt_at",
}
# A re-run captures today's capacity again (same numbers, new time); an MV refresh time may move;
# source_updated_at is the mart's copy of leads.updated_at, which the platform's moddatetime trigger
# bumps when the write-back sets segment_id (so a re-run re-reads those leads and keeps their segment);
# a re-run recounts today and yesterday (rebuilt_at). written_at must not move: nothing changed.
RERUN_TIME_COLUMNS = {"captured_at", "refreshed_at", "source_updated_at", "rebuilt_at"}
GARBAGE_INDUSTRY = uuid.UUID("00000000-0000-4000-8000-00000000bad1")
BLANK_INDUSTRY = uuid.UUID("00000000-0000-4000-8000-00000000bad2")
# Makes the MV refresh wait (it reads profiles); nothing before it in `daily` reads profiles.
PROFILES_LOCK = "lock table public.profiles in access exclusive mode"


# --- helpers -------------------------------------------------------------------------------------
def conn(target: Target, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(target.conninfo, autocommit=True, application_name="resilience-test", **kwargs)


def rows(target: Target, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with conn(target) as c:
        return c.execute(query, params).fetchall()  # type: ignore[arg-type]


def one(target: Target, query: str, params: Any = None) -> Any:
    result = rows(target, query, params)
    return result[0][0] if result else None


class Cli:
    """`leadgen …` in a subprocess with the target's PG* variables and its own dbt target path,
    reporting to the suite's Prefect test server (``prefect_harness``) as to a configured Prefect
    server: no temporary server start per command."""

    def __init__(self, work_dir: Path, api_url: str) -> None:
        self.work_dir = work_dir
        self.api_url = api_url

    def env(self, target: Target) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PREFECT_API_URL")}
        env.update(target.env)
        env.update({
            "DBT_TARGET_PATH": str(self.work_dir / f"dbt_{target.dbname}"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        })
        return env

    def start(self, target: Target, *args: str) -> subprocess.Popen[str]:
        """Start in the background; the output goes to a file (a pipe nobody reads would fill up
        and stall the run), read back by :func:`output`."""
        log = (self.work_dir / f"{target.dbname}_{time.monotonic_ns()}.log").open("w+")
        proc = subprocess.Popen(
            [str(BIN / "leadgen"), *args], cwd=PROJECT_ROOT, env=self.env(target), text=True,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        proc.log = log  # type: ignore[attr-defined]
        return proc


    def run(self, target: Target, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "leadgen"), *args], cwd=PROJECT_ROOT, env=self.env(target), text=True,
            capture_output=True, timeout=FLOW_TIMEOUT, check=False,
        )
        if ok and result.returncode != 0:
            raise AssertionError(
                f"leadgen {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-5000:]}\n{result.stderr[-3000:]}"
            )
        return result


def output(proc: subprocess.Popen[str]) -> str:
    log = proc.log  # type: ignore[attr-defined]
    log.flush()
    log.seek(0)
    return str(log.read())


def snapshot(target: Target, *, exclude: set[str] = RUN_TIME_COLUMNS) -> dict[str, list[tuple[Any, ...]]]:
    """Every analytics table (rows sorted, ``exclude`` columns dropped) and ``leads (id, segment_id)``."""
    snap: dict[str, list[tuple[Any, ...]]] = {}
    with conn(target) as c:
        tables = [r[0] for r in c.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'analytics' and table_type = 'BASE TABLE' order by 1"
        )]
        for table in tables:
            cols = [r[0] for r in c.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'analytics' and table_name = %s order by ordinal_position", (table,)
            ) if r[0] not in exclude]
            col_list = ", ".join(f'"{col}"' for col in cols)
            order = ", ".join(str(i) for i in range(1, len(cols) + 1))
            snap[table] = c.execute(
                f"select {col_list} from analytics.{table} order by {order}"
            ).fetchall()
        snap["public.leads.segment_id"] = c.execute(
            "select id, segment_id from public.leads order by id"
        ).fetchall()
    return snap


def assert_same(actual: dict[str, list[tuple[Any, ...]]], expected: dict[str, list[tuple[Any, ...]]]) -> None:
    assert sorted(actual) == sorted(expected), "different set of mart tables"
    for name in expected:
        a, e = actual[name], expected[name]
        if a != e:
            missing = [r for r in e if r not in set(a)][:3]
            extra = [r for r in a if r not in set(e)][:3]
            raise AssertionError(
                f"{name}: {len(a)} rows vs {len(e)} expected; e.g. missing {missing}, unexpected {extra}"
            )


def amsterdam_today(target: Target) -> date:
    return one(target, "select (now() at time zone 'Europe/Amsterdam')::date")


def wait_for_waiter(target: Target, pattern: str, proc: subprocess.Popen[str], timeout: float = 180) -> None:
    """Until a backend of ``target`` waits on a lock while running a statement like ``pattern``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = one(
            target,
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and wait_event_type = 'Lock' and query ilike %s and application_name <> 'resilience-test'",
            (pattern,),
        )
        if waiting:
            return
        if proc.poll() is not None:
            out = output(proc)
            raise AssertionError(
                f"the flow ended ({proc.returncode}) before reaching {pattern!r}:\n{out[-4000:]}"
            )
        time.sleep(0.1)
    activity = rows(target, "select application_name, state, wait_event_type, wait_event, left(query, 120) "
                            "from pg_stat_activity where datname = current_database()")
    kill_group(proc)
    out = output(proc)
    raise AssertionError(f"no statement like {pattern!r} waited within {timeout}s; sessions: {activity}; "
                         f"flow output:\n{out[-3000:]}")


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the CLI and everything it started (its own session: e.g. a Prefect server)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for_no_backends(target: Target, timeout: float = 60) -> None:
    """Until no client but us is connected to ``target`` (a killed run's server side is gone)."""
    deadline = time.monotonic() + timeout
    query = ("select application_name, state, wait_event, left(query, 100) from pg_stat_activity "
             "where datname = current_database() and pid <> pg_backend_pid() "
             "and backend_type = 'client backend'")
    while time.monotonic() < deadline:
        if not rows(target, query):
            return
        time.sleep(0.2)
    raise AssertionError(f"sessions of the killed run remain after {timeout}s: {rows(target, query)}")


@contextmanager
def holding(target: Target, *statements: tuple[str, Any]) -> Iterator[None]:
    """Run ``statements`` in a transaction kept open for the block (locks held), then roll back."""
    c = psycopg.connect(target.conninfo, application_name="resilience-test")
    try:
        for sql, params in statements:
            c.execute(sql, params)  # type: ignore[arg-type]
        yield
    finally:
        with suppress(psycopg.OperationalError):  # the server may have been stopped meanwhile
            c.rollback()
        c.close()


# --- the deterministic changes on top of "yesterday" ------------------------------------------------
def pick_lead(target: Target, days_back: int) -> str:
    """A matched, still open lead created ``days_back`` Amsterdam days ago (deterministic choice)."""
    return one(
        target,
        """
        select l.id::text
        from public.leads as l
        inner join analytics.lead_segment_assignments as a on a.lead_id = l.id
        where a.segment_id is not null
          and l.status in ('new', 'pending')
          and (l.created_at at time zone 'Europe/Amsterdam')::date
              = (now() at time zone 'Europe/Amsterdam')::date - %s
        order by l.id
        limit 1
        """,
        (days_back,),
    )


def apply_changes(target: Target, base: datetime, late_ids: dict[int, str]) -> None:
    with conn(target) as c:
        # Today's new leads: the fields of existing leads (deterministic pick), new fixed ids.
        c.execute(
            """
            insert into public.leads (id, created_at, industry_id, province, postcode, city, status)
            select md5('resilience-new-' || n)::uuid, %(base)s - n * interval '1 minute',
                   industry_id, province, postcode, city, 'new'
            from (select row_number() over (order by id) as n, * from public.leads order by id limit 150) s
            """,
            {"base": base},
        )
        for lead_id in late_ids.values():
            c.execute("update public.leads set status = 'accepted' where id = %s", (lead_id,))
        # Bad data: garbage and NULL in every free-text field the models read.
        c.execute(
            "insert into public.industries (id, name) values (%s, '@@@ ??? ###'), (%s, '   ')",
            (GARBAGE_INDUSTRY, BLANK_INDUSTRY),
        )
        c.execute(
            """
            insert into public.leads (id, created_at, industry_id, province, postcode, status)
            select md5('resilience-bad-' || n)::uuid, %(base)s - n * interval '7 minutes',
                   case mod(n, 4) when 0 then null when 1 then %(garbage)s when 2 then %(blank)s
                        else (select industry_id from public.leads order by id limit 1) end,
                   (array[null, '', '   ', 'Atlantis', '💥', 'N-Brabant!!', '12'])[1 + mod(n, 7)],
                   (array[null, '', '0000', 'ABCD', '12345', '99999 ZZ', '-', '1 2 3 4'])[1 + mod(n, 8)],
                   (array['new', 'on_hold', 'zzz', '', 'NEW', 'accepted'])[1 + mod(n, 6)]
            from generate_series(1, 56) as n
            """,
            {"base": base, "garbage": GARBAGE_INDUSTRY, "blank": BLANK_INDUSTRY},
        )
        # Valid leads (region and industry resolvable) with statuses the bucket seed does not list.
        c.execute(
            """
            insert into public.leads (id, created_at, industry_id, province, postcode, city, status)
            select md5('resilience-odd-status-' || n)::uuid, %(base)s - n * interval '3 minutes',
                   industry_id, province, postcode, city, (array['on_hold', 'zzz', ''])[1 + mod(n, 3)]
            from (
                select row_number() over (order by l.id) as n, l.*
                from public.leads as l
                inner join analytics.lead_segment_assignments as a on a.lead_id = l.id
                where a.segment_id is not null
                order by l.id
                limit 9
            ) s
            """,
            {"base": base},
        )
        regions_is_text = one(
            target,
            "select format_type(atttypid, atttypmod) = 'text' from pg_attribute "
            "where attrelid = 'public.profiles'::regclass and attname = 'regions'",
        )
        regions = ["'??, ,Narnia'", "''", "null"] if regions_is_text else [
            "array['??', '', null]::text[]", "array[]::text[]", "null"]
        for n, region in enumerate(regions, start=1):
            pid = uuid.UUID(int=0xBAD0 + n)
            c.execute("insert into auth.users (id, email) values (%s, %s)", (pid, f"bad{n}@example.invalid"))
            c.execute(
                f"""
                insert into public.profiles (id, email, is_admin, primary_branch, regions, max_open_leads,
                                             is_active_for_routing, lead_industries, lead_locations)
                values (%s, %s, false, %s, {region}, %s, true, %s, %s)
                """,
                (pid, f"bad{n}@example.invalid", ["@@", None, "  "][n - 1], [None, 5, 0][n - 1],
                 [["??", None], None, []][n - 1], [[None, "Narnia", ""], None, ["   "]][n - 1]),
            )
        # Every lead loses its segment_id: the write-back has to write them all (> 1 batch).
        c.execute("update public.leads set segment_id = null where segment_id is not null")


# --- shared setup ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Cli:
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url, "prefect_harness did not set PREFECT_API_URL"
    return Cli(tmp_path_factory.mktemp("resilience"), str(api_url))


@pytest.fixture(scope="module")
def yesterday(platform_db: Target, make_db: Callable[..., Target], cli: Cli) -> Target:
    """The small marketplace after one daily run: the template of every scenario."""
    target = make_db("res_yday", template=platform_db.dbname)
    cli.run(target, "run", "daily")
    wait_for_no_backends(target)
    return target


@pytest.fixture(scope="module")
def change_plan(yesterday: Target) -> dict[str, Any]:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    late = {days: pick_lead(yesterday, days) for days in (10, 20)}
    assert all(late.values()), f"no open matched lead 10 or 20 days back: {late}"
    before = {
        days: rows(
            yesterday,
            "select s.segment_id, s.date, s.leads_accepted from analytics.lead_generation_stats as s "
            "inner join analytics.lead_segment_assignments as a on a.segment_id = s.segment_id "
            "inner join public.leads as l on l.id = a.lead_id "
            "where l.id = %s and s.date = (l.created_at at time zone 'Europe/Amsterdam')::date",
            (lead_id,),
        )[0]
        for days, lead_id in late.items()
    }
    return {"base": base, "late": late, "stats_before": before}


def changed_copy(
    yesterday: Target, make_db: Callable[..., Target], plan: dict[str, Any], label: str
) -> Target:
    target = make_db(label, template=yesterday.dbname)
    apply_changes(target, plan["base"], plan["late"])
    return target


@pytest.fixture(scope="module")
def reference(yesterday: Target, make_db: Callable[..., Target], cli: Cli,
              change_plan: dict[str, Any]) -> tuple[Target, dict[str, list[tuple[Any, ...]]]]:
    """The changes, then one uninterrupted daily: the baseline of the kill tests."""
    target = changed_copy(yesterday, make_db, change_plan, "res_ref")
    cli.run(target, "run", "daily")
    return target, snapshot(target)


# --- bad data ------------------------------------------------------------------------------------
def test_bad_data_never_fails_the_run_and_shows_as_unmatched_or_other(
    reference: tuple[Target, dict[str, Any]],
) -> None:
    target, _ = reference  # the daily run over the garbage succeeded (the fixture asserts exit 0)
    bad = rows(
        target,
        "select l.industry_id, a.segment_id, a.unmatched_reason from public.leads as l "
        "left join analytics.lead_segment_assignments as a on a.lead_id = l.id "
        "where l.id in (select md5('resilience-bad-' || n)::uuid from generate_series(1, 56) as n)",
    )
    assert len(bad) == 56 and all(r[2] is not None or r[1] is not None for r in bad), bad[:5]
    for industry in (None, GARBAGE_INDUSTRY, BLANK_INDUSTRY):
        reasons = {r[2] for r in bad if r[0] == industry}
        assert reasons == {"unknown_industry"}, (industry, reasons)
    # A known industry with garbage province and postcode: no region, or a region when the
    # free-text province still resolves ('N-Brabant!!' may); never a crash, never a silent NULL.
    known = [r for r in bad if r[0] not in (None, GARBAGE_INDUSTRY, BLANK_INDUSTRY)]
    assert known and all(r[1] is not None or r[2] in ("no_region", "no_active_segment") for r in known)
    assert {r[2] for r in known} >= {"no_region"}

    # Unknown statuses on matched leads: counted as generated, in no accepted/rejected/pending bucket.
    mismatch = rows(
        target,
        """
        with leads as (
            select a.segment_id, (l.created_at at time zone 'Europe/Amsterdam')::date as day, l.status
            from public.leads as l
            inner join analytics.lead_segment_assignments as a on a.lead_id = l.id
            where a.segment_id is not null
        ),
        recount as (
            select leads.segment_id, leads.day, count(*) as generated,
                   count(*) filter (where b.bucket is null or b.bucket = 'other') as other
            from leads left join seeds.lead_status_buckets as b on b.status = leads.status
            group by 1, 2
        )
        select r.segment_id, r.day, r.generated, r.other, s.leads_generated,
               s.leads_generated - s.leads_accepted - s.leads_rejected - s.leads_pending
        from recount as r
        left join analytics.lead_generation_stats as s on s.segment_id = r.segment_id and s.date = r.day
        where r.day >= (now() at time zone 'Europe/Amsterdam')::date - 14
          and (s.leads_generated is distinct from r.generated
               or s.leads_generated - s.leads_accepted - s.leads_rejected - s.leads_pending
                  is distinct from r.other)
        """,
    )
    assert mismatch == [], f"stats disagree with a recount (segment, day, …): {mismatch[:5]}"
    odd = one(target, "select count(*) from analytics.lead_segment_assignments where segment_id is not null "
                      "and lead_id in (select md5('resilience-odd-status-' || n)::uuid "
                      "from generate_series(1, 9) as n)")
    assert odd == 9, "leads with unknown statuses must still be assigned"

    # Garbage partners match no segment and add no capacity.
    garbage_partners = one(
        target, "select count(*) from analytics.partner_segment_matches where partner_id = any(%s)",
        ([uuid.UUID(int=0xBAD0 + n) for n in (1, 2, 3)],),
    )
    assert garbage_partners == 0


# --- late data -----------------------------------------------------------------------------------
def test_a_status_change_10_days_back_shows_after_the_next_daily(
    reference: tuple[Target, dict[str, Any]], change_plan: dict[str, Any],
) -> None:
    target, _ = reference
    segment_id, day, accepted_before = change_plan["stats_before"][10]
    after = one(target, "select leads_accepted from analytics.lead_generation_stats "
                        "where segment_id = %s and date = %s", (segment_id, day))
    assert after == accepted_before + 1


# --- idempotence ---------------------------------------------------------------------------------
def test_daily_twice_changes_nothing(reference: tuple[Target, dict[str, Any]], cli: Cli) -> None:
    target, _ = reference
    before = snapshot(target, exclude=RERUN_TIME_COLUMNS)
    leads_before = rows(target, "select id, segment_id, updated_at from public.leads order by id")
    cli.run(target, "run", "daily")
    assert_same(snapshot(target, exclude=RERUN_TIME_COLUMNS), before)
    assert rows(target, "select id, segment_id, updated_at from public.leads order by id") == leads_before, \
        "the second daily wrote to public.leads"


def test_assign_twice_changes_nothing_the_second_time(
    reference: tuple[Target, dict[str, Any]], cli: Cli
) -> None:
    target, _ = reference
    with conn(target) as c:
        c.execute(
            "insert into public.leads (id, created_at, industry_id, province, postcode, city, status) "
            "select md5('resilience-assign-' || n)::uuid, now() - n * interval '1 second', "
            "industry_id, province, postcode, city, 'new' "
            "from (select row_number() over (order by id desc) as n, * from public.leads "
            "      order by id desc limit 40) s"
        )
    cli.run(target, "run", "assign")
    assigned = one(target, "select count(*) from analytics.lead_segment_assignments "
                           "where lead_id in (select md5('resilience-assign-' || n)::uuid "
                           "from generate_series(1, 40) as n)")
    assert assigned == 40
    written = one(target, "select count(*) from public.leads as l "
                          "join analytics.lead_segment_assignments as a on a.lead_id = l.id "
                          "where l.segment_id is distinct from a.segment_id")
    assert written == 0, "leads.segment_id differs from the assignment mart after assign"
    before = snapshot(target, exclude=RERUN_TIME_COLUMNS)
    leads_before = rows(target, "select id, segment_id, updated_at from public.leads order by id")
    cli.run(target, "run", "assign")
    assert_same(snapshot(target, exclude=RERUN_TIME_COLUMNS), before)
    assert rows(target, "select id, segment_id, updated_at from public.leads order by id") == leads_before


def test_a_status_change_20_days_back_shows_after_daily_and_overlapping_backfills_agree(
    reference: tuple[Target, dict[str, Any]], change_plan: dict[str, Any], cli: Cli,
) -> None:
    """The stats follow the changes whatever their age (no lookback window): the daily run of
    `reference` shows a status change 20 days back; backfills over it change nothing."""
    target, _ = reference
    segment_id, day, accepted_before = change_plan["stats_before"][20]

    def accepted() -> int:
        return one(target, "select leads_accepted from analytics.lead_generation_stats "
                           "where segment_id = %s and date = %s", (segment_id, day))

    assert accepted() == accepted_before + 1
    stats = snapshot(target, exclude=RERUN_TIME_COLUMNS)["lead_generation_stats"]
    cli.run(target, "backfill", "--start", str(day - timedelta(days=1)), "--end", str(day))
    assert snapshot(target, exclude=RERUN_TIME_COLUMNS)["lead_generation_stats"] == stats
    cli.run(target, "backfill", "--start", str(day), "--end", str(day + timedelta(days=1)))
    assert snapshot(target, exclude=RERUN_TIME_COLUMNS)["lead_generation_stats"] == stats
    dupes = one(target, "select count(*) from (select segment_id, date from analytics.lead_generation_stats "
                        "group by 1, 2 having count(*) > 1) d")
    assert dupes == 0


# --- kill anywhere -------------------------------------------------------------------------------
def _blockers(target: Target, stage: str) -> tuple[list[tuple[str, Any]], str]:
    """Statements that make the flow wait at ``stage`` (held in an open transaction) and the
    pattern of the statement that then waits."""
    if stage == "mv_refresh":
        # A materialized view cannot be LOCKed; its refresh reads profiles, which we hold.
        return [(PROFILES_LOCK, None)], "%refresh%"
    if stage == "assignment_build":
        # daily's first dbt build: the assignment's delete+insert waits for this SHARE lock
        return [("lock table analytics.lead_segment_assignments in share mode", None)], \
            "%lead_segment_assignments%"
    if stage == "marts_build":
        # daily's second dbt build (after the write-back): the stats model's pre-hook deletes its
        # window and waits for this SHARE lock, after the capacity capture has been written.
        return [("lock table analytics.lead_generation_stats in share mode", None)], \
            "%lead_generation_stats%"
    # write-back: hold the row lock of the lead in the middle of those it writes (in lead_id
    # order): the batches before it commit, the batch with it waits. (Each batch is one
    # autocommitted statement: once the lock is released, the killed run's waiting batch still
    # commits on the server; the batches after it were never sent.)
    middle = one(target, "select a.lead_id::text from analytics.lead_segment_assignments as a "
                         "where a.segment_id is not null order by a.lead_id "
                         "offset (select count(segment_id) / 2 from analytics.lead_segment_assignments) "
                         "limit 1")
    return [("select 1 from public.leads where id = %s for update", (middle,))], "%update%leads%"


def test_killed_at_every_stage_then_rerun_gives_the_uninterrupted_result(
    yesterday: Target, make_db: Callable[..., Target], cli: Cli,
    change_plan: dict[str, Any], reference: tuple[Target, dict[str, Any]],
) -> None:
    """SIGKILL `daily` during the MV refresh, then the next run mid assignment build, then the next
    one mid write-back (one batch committed, the next waiting), then the next one mid marts build,
    then a plain run: the marts and leads.segment_id equal the reference's uninterrupted run."""
    _, expected = reference
    target = changed_copy(yesterday, make_db, change_plan, "res_kill")
    for stage in ("mv_refresh", "assignment_build", "write_back", "marts_build"):
        statements, pattern = _blockers(target, stage)
        with holding(target, *statements):
            proc = cli.start(target, "run", "daily")
            wait_for_waiter(target, pattern, proc)
            kill_group(proc)
        wait_for_no_backends(target)
        if stage == "write_back":
            written = one(target, "select count(*) from public.leads where segment_id is not null")
            assert 0 < written < one(target, "select count(*) from analytics.lead_segment_assignments "
                                             "where segment_id is not null"), "not killed mid write-back"
    cli.run(target, "run", "daily")
    assert_same(snapshot(target), expected)


# --- live traffic --------------------------------------------------------------------------------
class TrafficWriter(threading.Thread):
    """Inserts new leads and moves statuses of recent ones, one transaction each, at ``rate`` per
    second, until stopped (and at most ``max_seconds``). Only against 127.0.0.1."""

    def __init__(self, target: Target, rate: float = 260, max_seconds: float = 240) -> None:
        super().__init__(daemon=True)
        self.target, self.period, self.max_seconds = target, 1 / rate, max_seconds
        self.stop_event = threading.Event()
        self.inserted: list[tuple[str, float]] = []  # (lead id, monotonic commit time)
        self.updates = 0
        self.errors: list[str] = []
        self.started = self.ended = 0.0

    def run(self) -> None:
        with conn(self.target) as c:
            template = c.execute("select industry_id, province, postcode, city from public.leads "
                                 "order by id limit 200").fetchall()
            recent = [r[0] for r in c.execute(
                "select id from public.leads order by created_at desc limit 500")]
            self.started = next_at = time.monotonic()
            deadline = self.started + self.max_seconds
            n = 0
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                n += 1
                try:
                    if n % 2:
                        industry, province, postcode, city = template[n % len(template)]
                        new_id = uuid.uuid4()
                        c.execute("insert into public.leads (id, industry_id, province, postcode, city) "
                                  "values (%s, %s, %s, %s, %s)", (new_id, industry, province, postcode, city))
                        self.inserted.append((str(new_id), time.monotonic()))
                    else:
                        c.execute("update public.leads set status = %s where id = %s",
                                  (("pending", "accepted", "rejected")[n % 3], recent[n % len(recent)]))
                        self.updates += 1
                except psycopg.Error as exc:
                    self.errors.append(str(exc).strip())
                next_at += self.period
                time.sleep(max(0.0, next_at - time.monotonic()))
        self.ended = time.monotonic()

    @property
    def rate(self) -> float:
        return (len(self.inserted) + self.updates) / max(self.ended - self.started, 1e-9)


def test_live_traffic_during_daily_and_assign(
    yesterday: Target, make_db: Callable[..., Target], cli: Cli,
) -> None:
    target = make_db("res_live", template=yesterday.dbname)
    host = target.env.get("PGHOST", "")
    if host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the live-traffic writer runs only against 127.0.0.1 (server is {host!r})")
    deadlocks_sql = "select deadlocks from pg_stat_database where datname = current_database()"
    deadlocks_before = one(target, deadlocks_sql)
    for flow in ("daily", "assign"):
        writer = TrafficWriter(target)
        writer.start()
        time.sleep(2)
        cutoff = time.monotonic()
        try:
            cli.run(target, "run", flow)
        finally:
            writer.stop_event.set()
            writer.join(timeout=30)
        assert writer.errors == [], f"writer errors during {flow}: {writer.errors[:3]}"
        assert writer.rate >= 200, f"writer reached only {writer.rate:.0f} tx/s during {flow}"
        before_cutoff = [lead_id for lead_id, at in writer.inserted if at < cutoff]
        found = one(target, "select count(*) from analytics.lead_segment_assignments "
                            "where lead_id = any(%s::uuid[])", (before_cutoff,))
        assert found == len(before_cutoff), \
            f"{flow}: {len(before_cutoff) - found} leads inserted before the cut-off are missing"
    # Nothing inserted during the runs is lost either: a quiet assign picks up every lead.
    cli.run(target, "run", "assign")
    missing = one(target, "select count(*) from public.leads as l where not exists "
                          "(select 1 from analytics.lead_segment_assignments as a where a.lead_id = l.id)")
    assert missing == 0, f"{missing} leads never reached the assignment mart"
    deadlocks = one(target, deadlocks_sql)
    assert deadlocks == deadlocks_before


# --- the database goes away ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A PRIVATE embedded server (never the shared one): this test stops it."""
    import shutil

    from leadgen.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("resilience_pg"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if os.geteuid() == 0:
            shutil.rmtree(server.fallback_dir, ignore_errors=True)


def _private_target(server: Any) -> Target:
    from psycopg.conninfo import conninfo_to_dict

    conninfo = server.conninfo("leadgen")
    params = conninfo_to_dict(conninfo)
    env = {"PGHOST": params["host"], "PGPORT": str(params["port"]), "PGUSER": params["user"],
           "PGDATABASE": params["dbname"], "PGPASSWORD": params["password"]}
    return Target(conninfo=conninfo, is_embedded=False, source="libpq environment", env=env)


def test_database_gone_mid_run_fails_clearly_and_a_later_run_is_correct(
    private_server: Any, cli: Cli
) -> None:
    from leadgen.generate import generate_marketplace
    from leadgen.migrate import apply_migrations
    from leadgen.standin import init_stand_in

    target = _private_target(private_server)
    init_stand_in(target)
    apply_migrations(target)
    generate_marketplace(target, partners=40, leads=1500, days=30, seed=11, progress=False)

    # The server stops while the flow waits in its first step; it stays down.
    with holding(target, (PROFILES_LOCK, None)):
        proc = cli.start(target, "run", "daily")
        wait_for_waiter(target, "%refresh%", proc)
        private_server.stop()
    proc.wait(timeout=FLOW_TIMEOUT)
    out = output(proc)
    assert proc.returncode != 0, "the flow must fail when the database is gone"
    last = out.strip().splitlines()[-1] if out.strip() else ""
    assert "leadgen: error:" in last, out[-3000:]
    assert any(w in last.lower() for w in ("database", "connect", "server")), last
    assert "retr" in out.lower(), f"no retry visible in the run's log:\n{out[-3000:]}"

    private_server.start()
    target = _private_target(private_server)
    cli.run(target, "run", "daily")
    checks = rows(
        target,
        """
        select
            (select count(*) from public.leads) - (select count(*) from analytics.lead_segment_assignments),
            (select count(*) from public.leads as l join analytics.lead_segment_assignments as a
               on a.lead_id = l.id where l.segment_id is distinct from a.segment_id),
            (select count(*) from (
                select a.segment_id, (l.created_at at time zone 'Europe/Amsterdam')::date as day,
                       count(*) as n
                from public.leads as l join analytics.lead_segment_assignments as a on a.lead_id = l.id
                where a.segment_id is not null group by 1, 2
             ) as r
             full join analytics.lead_generation_stats as s on s.segment_id = r.segment_id and s.date = r.day
             where coalesce(r.n, 0) <> coalesce(s.leads_generated, 0))
        """,
    )
    assert checks == [(0, 0, 0)], f"(unassigned leads, write-back differences, stats rows off): {checks}"
