"""Stopping works: Ctrl-C in a real terminal and SIGTERM (through `timeout`) stop `leadgen run daily`
while dbt runs, within 5 s, with the shell's exit code; dbt's queries are gone from the database,
the locks are free, and the Prefect flow run is Cancelled on the (real, local) server."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import LEADGEN_CLI, leadgen_env
from leadgen.config import PROJECT_ROOT, Target
from leadgen.locks import MARTS, run_lock, serialized

pytestmark = pytest.mark.slow


def _dbt_backends(target: Target) -> list[tuple[int, str, str]]:
    """Backends of dbt's connections in the test database (dbt-postgres names them ``dbt``)."""
    with psycopg.connect(target.with_database("postgres").conninfo, autocommit=True) as conn:
        return conn.execute(
            "select pid, state, left(query, 80) from pg_stat_activity"
            " where datname = %s and application_name like 'dbt%%' and pid <> pg_backend_pid()",
            (target.dbname,),
        ).fetchall()


def _advisory_locks(target: Target) -> int:
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_locks l join pg_database d on d.oid = l.database"
            " where l.locktype = 'advisory' and d.datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else -1


def _wait_for_dbt_queries(
    target: Target, process: subprocess.Popen[bytes], output: Callable[[], str]
) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, f"leadgen exited before dbt ran:\n{output()[-3000:]}"
        if _dbt_backends(target):
            time.sleep(1.5)  # well inside the build: several nodes in flight
            return
        time.sleep(0.3)
    pytest.fail(f"dbt never connected to the database:\n{output()[-3000:]}")


def _daily_run_state(api_url: str, started_after: datetime) -> tuple[str, str]:
    """The state of the one `daily` run this test started: a run without a deployment (the CLI's)
    that started after ``started_after``. Not "the newest daily run": the session's server also
    holds the `daily-serve` deployment of test_schedules.py, whose scheduled runs (03:00, not
    started) sort first by start time, coalesced with the expected start time."""
    body = {
        "flows": {"name": {"any_": ["daily"]}},
        "flow_runs": {
            "deployment_id": {"is_null_": True},
            "start_time": {"after_": started_after.isoformat()},
        },
        "sort": "START_TIME_DESC",
    }
    response = httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    runs = response.json()
    assert len(runs) == 1, f"{len(runs)} daily runs started by this test: {runs}"
    return runs[0]["state_type"], runs[0]["state"]["message"] or ""


def _assert_stopped_cleanly(
    target: Target, api_url: str, output: str, signame: str, started_after: datetime
) -> None:
    time.sleep(0.5)  # a terminated backend leaves pg_stat_activity within moments
    assert _dbt_backends(target) == [], output[-3000:]
    assert _advisory_locks(target) == 0
    with run_lock("daily", target), serialized(MARTS, target):
        pass  # a second run would start: both locks are free
    state, message = _daily_run_state(api_url, started_after)
    assert state == "CANCELLED", (state, message, output[-3000:])
    # It ends with one line saying so: no Prefect worker dumps, no error line after it.
    assert "EventsWorker" not in output and "leadgen: error" not in output, output[-3000:]
    last = output.strip().splitlines()[-1].removeprefix("^C")  # a terminal echoes the Ctrl-C itself
    assert last == f"leadgen: stopped ({signame})", output[-3000:]


@pytest.fixture
def stop_env(local_prefect_server: dict[str, str], db_copy: Target, tmp_path: Path) -> dict[str, str]:
    return leadgen_env(
        db_copy, LEADGEN_PREFECT_DIR=local_prefect_server["LEADGEN_PREFECT_DIR"],
        DBT_TARGET_PATH=str(tmp_path / "dbt-target"),
    )


def test_ctrl_c_in_a_terminal_stops_daily_within_5_s(
    stop_env: dict[str, str], db_copy: Target, local_prefect_server: dict[str, str]
) -> None:
    master, slave = os.openpty()
    started_after = datetime.now(UTC)

    def controlling_terminal() -> None:  # runs after setsid: the pty becomes the session's terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [LEADGEN_CLI, "run", "daily"], env=stop_env, cwd=PROJECT_ROOT, stdin=slave, stdout=slave,
        stderr=slave, start_new_session=True, preexec_fn=controlling_terminal,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def output() -> str:
        return b"".join(chunks).decode(errors="replace")

    try:
        _wait_for_dbt_queries(db_copy, process, output)
        os.write(master, b"\x03")  # Ctrl-C, as typed: the terminal sends SIGINT to the job
        sent = time.monotonic()
        code = process.wait(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        reader.join(timeout=5)
        os.close(master)
    print(f"Ctrl-C -> exit {code} in {elapsed:.2f} s")
    assert code == 130, output()[-3000:]
    assert elapsed < 5, f"{elapsed:.1f} s to stop:\n{output()[-4000:]}"
    _assert_stopped_cleanly(
        db_copy, local_prefect_server["PREFECT_API_URL"], output(), "SIGINT", started_after
    )


def test_sigterm_through_timeout_stops_daily_within_5_s(
    stop_env: dict[str, str], db_copy: Target, local_prefect_server: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "daily.log"
    started_after = datetime.now(UTC)
    with log.open("wb") as out:
        # `timeout` forwards the SIGTERM it receives to the command, as when its time is up.
        process = subprocess.Popen(
            ["timeout", "--preserve-status", "-s", "TERM", "600", LEADGEN_CLI, "run", "daily"],
            env=stop_env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def output() -> str:
        return log.read_text(errors="replace")

    try:
        _wait_for_dbt_queries(db_copy, process, output)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code = process.wait(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    print(f"SIGTERM -> exit {code} in {elapsed:.2f} s")
    assert code == 143, output()[-3000:]
    assert elapsed < 5, f"{elapsed:.1f} s to stop:\n{output()[-4000:]}"
    _assert_stopped_cleanly(
        db_copy, local_prefect_server["PREFECT_API_URL"], output(), "SIGTERM", started_after
    )
