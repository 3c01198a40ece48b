"""Shared fixtures: real PostgreSQL (embedded, or the one PG*/DATABASE_URL point at), real dbt.

Each test session creates its own databases (``leadgen_t<pid>_*``) on that server and drops them
at the end, so a configured server is never written to outside those throwaway databases.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

from leadgen.config import PROJECT_ROOT, Target, resolve_target
from leadgen.db import create_database, drop_database

# Small enough for a 2-core CI machine, large enough to have every messy form in it.
SMALL_MARKETPLACE = {"partners": 150, "leads": 6000, "days": 60, "seed": 7}
# One "now" for every marketplace of the session: lead statuses depend on a lead's age at `now`,
# so two marketplaces generated a minute apart would differ (e.g. in open leads per partner).
GENERATED_NOW = datetime.now(UTC).replace(microsecond=0)
_PREFIX = f"leadgen_t{os.getpid()}"


@pytest.fixture(scope="session")
def server() -> Iterator[Target]:
    """The server tests run on. An embedded server that this session had to start is stopped
    at the end, so `make test` leaves nothing running; one that was already up is left alone."""
    from leadgen.config import configured_externally
    from leadgen.embedded import EmbeddedPostgres

    embedded = None if configured_externally() else EmbeddedPostgres.for_project()
    was_running = embedded is not None and embedded.status().running
    yield resolve_target()
    if embedded is not None and not was_running:
        embedded.stop()


@pytest.fixture(scope="session")
def pg15() -> Iterator[Target]:
    """A PostgreSQL 15 server (Debian's binaries, data in .leadgen/pg15; see pg15.py), skipped with
    the reason when it cannot be had. Stopped at the end unless it was already running."""
    from pg15 import PG15Unavailable, pg15_server, target_of

    state = Path(os.environ.get("LEADGEN_HOME", PROJECT_ROOT / ".leadgen")).resolve()
    try:
        server15 = pg15_server(state)
    except PG15Unavailable as exc:
        pytest.skip(str(exc))
    was_running = server15.status().running
    server15.start()
    yield target_of(server15)
    if not was_running:
        server15.stop()


CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when absent (CI runs as root on a fresh machine,
    so the browser check runs there); skipped with the reason only when it cannot be installed."""
    import shutil

    def found() -> str | None:
        return next((p for p in (*CHROMIUM_PATHS, shutil.which("chromium")) if p and Path(p).exists()), None)

    if path := found():
        return path
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and cannot be (apt-get install chromium needs root on Debian)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:  # a fresh machine may not have the package lists yet
        update = ["apt-get", "update"]
        subprocess.run(update, env=env, capture_output=True, text=True, timeout=600, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
    if (path := found()) is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        pytest.skip(f"chromium could not be installed (apt-get install chromium: {tail})")
    return path


@pytest.fixture(scope="session")
def make_db(server: Target) -> Iterator[Callable[..., Target]]:
    """Factory for throwaway databases on the test server; all dropped at session end."""
    created: list[str] = []

    def _make(label: str, template: str | None = None) -> Target:
        name = f"{_PREFIX}_{label}_{uuid.uuid4().hex[:6]}"
        created.append(name)
        return create_database(server, name, template=template)

    yield _make
    for name in reversed(created):
        drop_database(server, name)


@pytest.fixture(scope="session")
def empty_db(make_db: Callable[..., Target]) -> Target:
    return make_db("empty")


def _build_platform(target: Target, *, regions_as_text: bool) -> Target:
    from leadgen.generate import generate_marketplace
    from leadgen.migrate import apply_migrations
    from leadgen.standin import init_stand_in

    init_stand_in(target, regions_as_text=regions_as_text)
    apply_migrations(target)
    generate_marketplace(target, progress=False, now=GENERATED_NOW, **SMALL_MARKETPLACE)
    return target


@pytest.fixture(scope="session")
def platform_db(make_db: Callable[..., Target]) -> Target:
    """Stand-in + migrations + a small generated marketplace (regions as text[]). Do not mutate:
    use ``db_copy`` for tests that change data."""
    return _build_platform(make_db("platform"), regions_as_text=False)


@pytest.fixture(scope="session")
def platform_db_text_regions(make_db: Callable[..., Target]) -> Target:
    """The same marketplace with profiles.regions as comma-separated text."""
    return _build_platform(make_db("platform_txt"), regions_as_text=True)


@pytest.fixture
def db_copy(platform_db: Target, make_db: Callable[..., Target]) -> Target:
    """A private copy of ``platform_db`` that a test may change."""
    return make_db("copy", template=platform_db.dbname)


def run_dbt(
    target: Target, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI of this venv against ``target`` (a subprocess: a user's exact command)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(target.env)
    env.update(extra_env or {})
    env["DBT_PROFILES_DIR"] = str(PROJECT_ROOT)
    dbt = Path(os.sys.executable).parent / "dbt"  # type: ignore[attr-defined]
    result = subprocess.run(
        [str(dbt), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        tail = f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{tail}")
    return result


@pytest.fixture(scope="session")
def dbt() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_dbt


@pytest.fixture(scope="session")
def built_platform_db(platform_db: Target, make_db: Callable[..., Target]) -> Target:
    """A copy of ``platform_db`` on which ``dbt build`` (seeds, models, every test) ran once.
    Shared by every test that reads the marts; do not mutate (``platform_db`` stays pristine)."""
    built = make_db("built", template=platform_db.dbname)
    run_dbt(built, "build")
    return built


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """The suite's only Prefect test server (temporary, SQLite; ~10 s to start). Flow and task
    calls need it (tasks report to an API even under ``flow.fn()``); request it only when needed."""
    from prefect.testing.utilities import prefect_test_harness

    # Tasks called outside a flow run (retry tests) log locally, not to the API: no warning for it.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    with prefect_test_harness(server_startup_timeout=120):
        yield


# --- the local Prefect server (`leadgen server start`), in a directory of the test session ---------
LEADGEN_CLI = str(Path(os.sys.executable).parent / "leadgen")  # type: ignore[attr-defined]


def leadgen_env(target: Target | None = None, **extra: str) -> dict[str, str]:
    """The environment of a `leadgen` subprocess: ``target`` as libpq variables, nothing inherited
    that would point it at another database or Prefect server."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("PG") and k not in ("DATABASE_URL", "PREFECT_API_URL")
    }
    env.update(target.env if target else {})
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def local_prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real local Prefect server started the project's way (`leadgen server start`), with its
    data in a temporary LEADGEN_PREFECT_DIR; yields the environment that makes `leadgen` use it
    (``LEADGEN_PREFECT_DIR``, ``PREFECT_API_URL``, ``log``: its log file). Stopped at the end."""
    import socket

    home = tmp_path_factory.mktemp("prefect")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = leadgen_env(
        LEADGEN_PREFECT_DIR=str(home),
        # The scheduler's main loop every 5 s instead of 60 s, so a test sees scheduled runs soon.
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
    )
    subprocess.run(
        [LEADGEN_CLI, "server", "start", "--port", str(port)], env=env, check=True, timeout=240,
        capture_output=True, text=True,
    )
    try:
        yield {
            "LEADGEN_PREFECT_DIR": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "log": str(home / "server.log"),
        }
    finally:
        subprocess.run([LEADGEN_CLI, "server", "stop"], env=env, check=False, timeout=60)
