"""The conventions a user expects (issue 14, part 5): URLs that parse, a `db status` that looks, the
next step named on an unprepared database, a bounded backfill, `generate --fresh`, dbt on the same
database as the CLI, and a refused overlap that is a Cancelled run, not a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from leadgen import pipeline
from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect
from leadgen.locks import OVERLAP_EXIT_CODE, run_lock
from leadgen.migrate import load_migrations
from leadgen.preflight import amsterdam_today
from leadgen.standin import init_stand_in
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BIN = Path(sys.executable).parent
LEADGEN = str(BIN / "leadgen")


def _leadgen(*args: str, target: Target | None = None, env: dict[str, str] | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`leadgen ...` in a subprocess, pointed at ``target`` through the libpq variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    return subprocess.run(
        [LEADGEN, *args], env={**base, **(target.env if target else {}), **(env or {})},
        capture_output=True, text=True, timeout=timeout, check=False, cwd=PROJECT_ROOT,
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadgen: error: ")
    return lines[0]


def _count(target: Target, query: str) -> int:
    with connect(target) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def stand_in_only(make_db: Callable[..., Target]) -> Target:
    """The platform's tables (stand-in), no migration applied."""
    target = make_db("standin_only")
    init_stand_in(target)
    return target


# --- leadgen db url / env ---------------------------------------------------------------------
def test_db_url_percent_encodes_so_the_url_parses_back_to_the_same_credentials() -> None:
    url = "postgresql://us%40r:p%40ss%3Aw%2Frd%23@db.example.invalid:5432/prod"
    result = _leadgen("db", "url", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    parsed = conninfo_to_dict(printed)
    credentials = (parsed["user"], parsed["password"], parsed["host"])
    assert credentials == ("us@r", "p@ss:w/rd#", "db.example.invalid")
    assert printed == url


def test_plain_dbt_follows_database_url_after_eval_db_env(platform_db: Target) -> None:
    """profiles.yml reads libpq variables; `eval "$(leadgen db env)"` turns DATABASE_URL into them,
    and unsets a stale PG* variable that would point dbt elsewhere."""
    params = conninfo_to_dict(platform_db.conninfo)
    url = Target(make_conninfo(**params), False, "test").url(hide_password=False)
    dbt = f"{BIN / 'dbt'} --no-use-colors debug --profiles-dir . --project-dir ."
    script = f'eval "$({LEADGEN} db env)" && {dbt}'
    result = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180, check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PG")},
             "DATABASE_URL": url, "PGHOST": "stale.example.invalid", "PGDATABASE": "elsewhere"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"database: {platform_db.dbname}\n" in result.stdout
    assert "All checks passed!" in result.stdout


# --- leadgen db status --------------------------------------------------------------------------
def test_db_status_reports_server_platform_and_migrations(platform_db: Target, stand_in_only: Target,
                                                          empty_db: Target) -> None:
    n = len(load_migrations())
    ready = _leadgen("db", "status", target=platform_db)
    assert ready.returncode == 0, ready.stderr
    assert "server: PostgreSQL " in ready.stdout
    assert f"database {platform_db.dbname!r} answers" in ready.stdout
    assert f"migrations: {n} of {n} applied" in ready.stdout and "pending" not in ready.stdout
    assert "platform: meets the source contract" in ready.stdout

    unmigrated = _leadgen("db", "status", target=stand_in_only).stdout
    assert f"migrations: 0 of {n} applied (supabase_migrations.schema_migrations), {n} pending" in unmigrated
    assert "problem(s) (`leadgen check` shows the same):" in unmigrated

    empty = _leadgen("db", "status", target=empty_db).stdout
    assert "leadgen db init-stand-in" in empty


# --- an unprepared database names the missing step ------------------------------------------------
UNPREPARED_COMMANDS = [
    ("run", "daily"), ("run", "assign"), ("backfill", "--start", "2025-01-01", "--end", "2025-01-02"),
    ("docs", "--no-serve"),
]


def _not_ready_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadgen: error: database ") and " is not ready " in lines[0]
    return lines[0]


@pytest.mark.parametrize("command", UNPREPARED_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_without_platform_tables_the_error_says_so(command: tuple[str, ...], empty_db: Target) -> None:
    line = _not_ready_line(_leadgen(*command, target=empty_db))
    assert "leadgen db init-stand-in" in line


@pytest.mark.parametrize("command", UNPREPARED_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_without_migrations_the_error_says_run_migrate(
    command: tuple[str, ...], stand_in_only: Target
) -> None:
    line = _not_ready_line(_leadgen(*command, target=stand_in_only))
    n = len(load_migrations())
    assert f"{n} of {n} migrations pending" in line and "run `leadgen migrate`" in line


# --- backfill range ---------------------------------------------------------------------------------
def test_backfill_clips_to_the_first_lead_day_and_asks_for_yes_above_a_year(db_copy: Target) -> None:
    with connect(db_copy, autocommit=True) as conn:  # one lead 800 days old: the history is long now
        conn.execute("update public.leads set created_at = now() - interval '800 days' "
                     "where id = (select id from public.leads order by id limit 1)")
        first_day = conn.execute(
            "select (min(created_at) at time zone 'Europe/Amsterdam')::date from public.leads"
        ).fetchone()[0]  # type: ignore[index]
    yesterday = amsterdam_today() - timedelta(days=1)

    before = _leadgen("backfill", "--start", "2000-01-01", "--end", "2000-12-31", target=db_copy)
    assert before.returncode == 0, before.stderr
    assert f"start 2000-01-01 is before the first lead day {first_day}: starting there" in before.stdout
    assert "backfill: 0 days rebuilt" in before.stdout

    long = _leadgen("backfill", "--start", "2000-01-01", "--end", str(yesterday), target=db_copy)
    days = (yesterday - first_day).days + 1
    line = _error_line(long)
    assert f"backfill of {days} days ({first_day}..{yesterday}) is more than 366: add --yes" in line
    nothing_ran = "select count(*) from pg_tables where schemaname = 'analytics'"
    assert _count(db_copy, nothing_ran) == 0


# --- leadgen generate --fresh -------------------------------------------------------------------------
def test_generate_fresh_starts_over_on_a_stand_in(db_copy: Target) -> None:
    assert _count(db_copy, "select count(*) from public.leads") > 300
    again = _leadgen("generate", "--partners", "20", "--leads", "300", "--days", "10", target=db_copy)
    assert "already holds leads or profiles" in _error_line(again)

    fresh = _leadgen("generate", "--fresh", "--partners", "20", "--leads", "300", "--days", "10",
                     target=db_copy)
    assert fresh.returncode == 0, fresh.stderr
    assert f"database {db_copy.dbname!r} emptied" in fresh.stdout
    assert "generated 300 leads over 10 days, 20 partners" in fresh.stdout
    assert "{" not in fresh.stdout  # a readable summary, not a dict
    assert _count(db_copy, "select count(*) from public.leads") == 300
    assert _count(db_copy, "select count(*) from public.profiles where not is_admin") == 20


def test_generate_fresh_refuses_a_database_that_is_not_a_stand_in(db_copy: Target) -> None:
    with connect(db_copy, autocommit=True) as conn:
        conn.execute("comment on schema auth is null")  # as on a real platform
    leads = _count(db_copy, "select count(*) from public.leads")
    line = _error_line(_leadgen("generate", "--fresh", "--leads", "10", target=db_copy))
    assert "which is not a stand-in database" in line
    assert _count(db_copy, "select count(*) from public.leads") == leads


# --- a refused overlap --------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_refused_overlap_is_a_cancelled_prefect_run_with_a_one_line_reason(
    prefect_harness: None, db_copy: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client

    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key, value in db_copy.env.items():
        monkeypatch.setenv(key, value)
    with run_lock("assign", db_copy):
        state = pipeline.assign(return_state=True)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.state is not None and run.state.is_cancelled()
    assert run.state.message == f"another assign run is in progress on database {db_copy.dbname!r}; " \
        "this run stopped without changing anything"


@pytest.mark.slow
def test_the_cli_exits_75_with_one_line_when_the_run_is_refused(db_copy: Target) -> None:
    with run_lock("assign", db_copy):
        result = _leadgen("run", "assign", target=db_copy)
    assert result.returncode == OVERLAP_EXIT_CODE, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"leadgen: skipped: another assign run is in progress on database {db_copy.dbname!r}; "
        "this run stopped without changing anything"
    )
    assert "Traceback" not in result.stdout + result.stderr


# --- leadgen on PATH ------------------------------------------------------------------------------
def test_make_shell_puts_leadgen_on_path() -> None:
    path = ":".join(p for p in os.environ.get("PATH", "").split(":") if not p.startswith(str(BIN)))
    result = subprocess.run(
        ["make", "-s", "shell"], cwd=PROJECT_ROOT, input="command -v leadgen dbt prefect\n", text=True,
        capture_output=True, timeout=60, check=False,
        env={**os.environ, "PATH": path, "SHELL": "/bin/bash"},
    )
    assert result.returncode == 0, result.stderr
    found = result.stdout.split()
    assert [str(BIN / name) for name in ("leadgen", "dbt", "prefect")] == found[-3:]
