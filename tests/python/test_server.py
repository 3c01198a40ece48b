"""The local Prefect server (`leadgen server start|stop|status`) and the commands that need none.

* start returns when the API answers, a second start reuses the running server, stop stops it;
* a command that runs a flow while it is up records its run there (no temporary server);
* `migrate status` and `migrate --dry-run` never import Prefect, and a database that does not
  answer is one line within seconds.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LEADGEN_CLI, leadgen_env
from leadgen.config import PROJECT_ROOT, Target

pytestmark = pytest.mark.slow


def _leadgen(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEADGEN_CLI, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_start_reuses_a_running_server_and_stop_stops_it(tmp_path: Path) -> None:
    env = leadgen_env(LEADGEN_PREFECT_DIR=str(tmp_path))
    port = _free_port()
    try:
        started = _leadgen("server", "start", "--port", str(port), env=env)
        assert started.returncode == 0, started.stderr
        assert f"http://127.0.0.1:{port}/api" in started.stdout and "started" in started.stdout
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
        assert (tmp_path / "prefect.db").exists() and (tmp_path / "server.log").exists()

        again = _leadgen("server", "start", "--port", str(port), env=env, timeout=30)
        assert again.returncode == 0 and "already running" in again.stdout, again.stdout
        status = _leadgen("server", "status", env=env, timeout=30)
        assert "up" in status.stdout and f"http://127.0.0.1:{port}" in status.stdout
    finally:
        stopped = _leadgen("server", "stop", env=env, timeout=60)
    assert stopped.stdout.strip() == "stopped"
    assert "down" in _leadgen("server", "status", env=env, timeout=30).stdout
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)


def test_a_flow_command_uses_the_running_local_server(
    local_prefect_server: dict[str, str], db_copy: Target
) -> None:
    env = leadgen_env(db_copy, LEADGEN_PREFECT_DIR=local_prefect_server["LEADGEN_PREFECT_DIR"])
    started = time.monotonic()
    result = _leadgen("run", "refresh", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"leadgen run refresh against the local server: {elapsed:.1f} s")
    body = {"flows": {"name": {"any_": ["refresh-partner-stats"]}}}
    runs = httpx.post(f"{local_prefect_server['PREFECT_API_URL']}/flow_runs/filter", json=body, timeout=10)
    assert [r["state_type"] for r in runs.json()] == ["COMPLETED"]


def _imports_prefect(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run the CLI in a fresh interpreter; report whether it imported prefect."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('PREFECT-IMPORTED' * ('prefect' in sys.modules), file=sys.stderr))\n"
        f"sys.argv = ['leadgen', *{args!r}]\n"
        "from leadgen.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )
    return result, "PREFECT-IMPORTED" in result.stderr


@pytest.mark.parametrize(
    "args", [["migrate", "status"], ["migrate", "--dry-run"], ["db", "status"], ["check"]]
)
def test_commands_without_orchestration_never_import_prefect(platform_db: Target, args: list[str]) -> None:
    result, imported = _imports_prefect(args, leadgen_env(platform_db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not imported
    if args[0] == "migrate":  # every migration is applied to platform_db: it says so
        assert "applied  " in result.stdout or "dry run: 0 pending" in result.stdout, result.stdout


@pytest.fixture
def hanging_host() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung host or proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.parametrize("args", [["migrate", "status"], ["migrate"], ["migrate", "--dry-run"]])
def test_a_hanging_database_fails_within_seconds_with_one_line(hanging_host: int, args: list[str]) -> None:
    env = leadgen_env(PGHOST="127.0.0.1", PGPORT=str(hanging_host), PGUSER="postgres", PGDATABASE="x")
    env.pop("PGPASSWORD", None)
    started = time.monotonic()
    result = _leadgen(*args, env=env, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("leadgen: error: cannot connect"), result.stderr
    assert elapsed < 12, f"{elapsed:.1f} s"
