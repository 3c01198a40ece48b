"""The embedded PostgreSQL: start, reuse, recovery after `kill -9`, and the DSN/env it hands out.

These tests run a private server (its own state directory), never the project's shared one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from leadgen.config import PROJECT_ROOT
from leadgen.embedded import EmbeddedPostgres

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    # pytest's tmp dirs are root-only (0700) when we run as root: this also exercises the
    # fallback to a temporary directory the unprivileged postgres user can reach.
    state = tmp_path_factory.mktemp("leadgen_home")
    server = EmbeddedPostgres(state)
    try:
        yield server
    finally:
        server.stop()
        if server.fallback_dir.exists() and os.geteuid() == 0:
            shutil.rmtree(server.fallback_dir, ignore_errors=True)


def _select_one(server: EmbeddedPostgres) -> int:
    with psycopg.connect(server.conninfo("leadgen"), connect_timeout=5) as conn:
        row = conn.execute("select 1").fetchone()
    assert row is not None
    return int(row[0])


def test_starts_and_creates_the_default_database(private_server: EmbeddedPostgres) -> None:
    status = private_server.start()
    assert status.running and status.port
    assert _select_one(private_server) == 1
    with psycopg.connect(private_server.conninfo("leadgen")) as conn:
        version = conn.execute("show server_version_num").fetchone()
        listen = conn.execute("show listen_addresses").fetchone()
    assert version is not None and int(version[0]) >= 150000
    assert listen is not None and listen[0] == "127.0.0.1"


def test_a_running_server_is_reused(private_server: EmbeddedPostgres) -> None:
    first = private_server.start()
    again = EmbeddedPostgres(private_server.state_dir).start()
    assert again.pid == first.pid
    assert again.port == first.port


def test_recovers_after_kill_9_of_the_postmaster(private_server: EmbeddedPostgres) -> None:
    before = private_server.start()
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{before.pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (private_server.data_dir / "postmaster.pid").exists(), "kill -9 leaves a stale postmaster.pid"
    assert not private_server.status().running

    after = private_server.start()
    assert after.running and after.pid != before.pid
    assert _select_one(private_server) == 1


def test_runs_postgres_as_an_unprivileged_user_when_root(private_server: EmbeddedPostgres) -> None:
    status = private_server.start()
    owner_uid = Path(f"/proc/{status.pid}").stat().st_uid
    assert owner_uid != 0, "PostgreSQL must never run as root"
    if os.geteuid() == 0:
        # tmp_path is root-only, so data had to move to a directory that user can reach
        assert private_server.data_dir.is_relative_to(private_server.fallback_dir)


def test_asks_for_the_generated_password_and_keeps_it_private(private_server: EmbeddedPostgres) -> None:
    private_server.start()
    secret_file = private_server.password_file
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 24 and secret in private_server.conninfo("leadgen")
    plain = private_server.conninfo("leadgen").replace(secret, "")
    for conninfo in (plain.replace("password=", "password=wrong"), plain.replace("password=", "")):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(conninfo, connect_timeout=5).close()
    assert _select_one(private_server) == 1


def test_postgres_runs_without_roots_groups(private_server: EmbeddedPostgres) -> None:
    status = private_server.start()
    groups = next(ln for ln in Path(f"/proc/{status.pid}/status").read_text().splitlines()
                  if ln.startswith("Groups:"))
    assert "0" not in groups.split()[1:], groups


def test_stop_then_status_says_stopped(private_server: EmbeddedPostgres) -> None:
    private_server.start()
    assert private_server.stop() is True
    assert private_server.status().running is False
    assert private_server.stop() is False


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "leadgen"), *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False
    )


def _env_without_database_settings() -> dict[str, str]:
    drop = {"DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL") or os.environ.get("PGHOST")),
    reason="a database is configured: the project's embedded server is not in use",
)
def test_db_env_exports_what_dbt_debug_needs() -> None:
    env = _env_without_database_settings()
    exported = _cli("db", "env", env=env)
    assert exported.returncode == 0, exported.stderr
    assert "export PGHOST=127.0.0.1" in exported.stdout
    assert "export PGDATABASE=leadgen" in exported.stdout
    script = f'eval "$({BIN / "leadgen"} db env)"; {BIN / "dbt"} debug --profiles-dir {PROJECT_ROOT}'
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "All checks passed" in result.stdout


def test_database_url_wins_over_the_embedded_server() -> None:
    env = _env_without_database_settings()
    env["DATABASE_URL"] = "postgresql://someone:secret@db.example.invalid:6543/prod"
    result = _cli("db", "env", env=env)
    assert result.returncode == 0, result.stderr
    assert "export PGHOST=db.example.invalid" in result.stdout
    assert "export PGPORT=6543" in result.stdout
    assert "export PGDATABASE=prod" in result.stdout
    assert "export PGPASSWORD=secret" in result.stdout


def test_unreachable_database_is_one_clear_line() -> None:
    env = _env_without_database_settings()
    env.update({"PGHOST": "127.0.0.1", "PGPORT": "1", "PGUSER": "x", "PGDATABASE": "x"})
    result = _cli("db", "init-stand-in", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadgen: error:") and "127.0.0.1" in lines[0]
    assert "Traceback" not in result.stderr
