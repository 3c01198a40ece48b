"""The schedules fire: a real local Prefect server (`leadgen server start`), the project's
deployments served by `leadgen serve`, `assign` on a 15-second interval; scheduled runs are
created and complete, and the server's scheduler logs no error.

This is the test that catches a dependency set whose scheduler is broken (prefect 3.8.8 with
SQLAlchemy 2.1 fails every loop with "Can't evaluate bulk DML statement").
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import LEADGEN_CLI, leadgen_env
from leadgen.config import PROJECT_ROOT, Target

pytestmark = pytest.mark.slow

ASSIGN_INTERVAL_SECONDS = 15


@pytest.fixture
def schedule_db(make_db: Callable[..., Target]) -> Target:
    """Stand-in + migrations, no marketplace: the first scheduled `assign` builds the assignment."""
    from leadgen.migrate import apply_migrations
    from leadgen.standin import init_stand_in

    target = make_db("schedules")
    init_stand_in(target)
    apply_migrations(target)
    return target


def _short_interval_prefect_yaml(path: Path) -> Path:
    """The project's prefect.yaml with `assign` every 15 s (everything else as committed)."""
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    assign = next(d for d in spec["deployments"] if d["name"] == "assign")
    assign["schedules"] = [{"interval": ASSIGN_INTERVAL_SECONDS, "timezone": "Europe/Amsterdam"}]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _assign_runs(api_url: str) -> list[dict[str, Any]]:
    body = {"flows": {"name": {"any_": ["assign"]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
    response = httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def test_served_deployments_are_scheduled_and_a_scheduled_run_completes(
    local_prefect_server: dict[str, str], schedule_db: Target, tmp_path: Path
) -> None:
    api_url = local_prefect_server["PREFECT_API_URL"]
    env = leadgen_env(
        schedule_db,
        LEADGEN_PREFECT_DIR=local_prefect_server["LEADGEN_PREFECT_DIR"],
        PREFECT_RUNNER_POLL_FREQUENCY="2",  # the runner looks for due runs every 2 s (default 10)
        DBT_TARGET_PATH=str(tmp_path / "dbt-target"),
    )
    serve_log = tmp_path / "serve.log"
    with serve_log.open("wb") as out:
        serve = subprocess.Popen(
            [LEADGEN_CLI, "serve", "--file", str(_short_interval_prefect_yaml(tmp_path / "prefect.yaml"))],
            env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    runs: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert serve.poll() is None, f"leadgen serve exited:\n{serve_log.read_text()[-3000:]}"
            runs = [r for r in _assign_runs(api_url) if r.get("auto_scheduled")]
            if any(r["state_type"] == "COMPLETED" for r in runs):
                break
            time.sleep(2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()

    log = Path(local_prefect_server["log"]).read_text(errors="replace")
    states = [r["state_type"] for r in runs]
    assert len(runs) >= 2, f"the scheduler created {len(runs)} assign runs; server log:\n{log[-3000:]}"
    assert "COMPLETED" in states, (
        f"no scheduled assign run completed (states {states});\nserve:\n{serve_log.read_text()[-3000:]}"
    )
    assert all(r["deployment_id"] for r in runs)
    assert "Traceback" not in log and "bulk DML" not in log, log[-3000:]
    assert not [line for line in log.splitlines() if "ERROR" in line and "scheduler" in line.lower()]

    # The scheduled runs did the work: the assignment mart exists in the test database.
    import psycopg

    with psycopg.connect(schedule_db.conninfo) as conn:
        row = conn.execute("select to_regclass('analytics.lead_segment_assignments') is not null").fetchone()
    assert row and row[0]
