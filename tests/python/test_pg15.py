"""The end-to-end path on PostgreSQL 15 (production Supabase runs 15-17; the embedded server is 18).

SLOW MODULE (≈ 2-2.5 min per variant on a busy 2-core machine): on the ``pg15`` server, a
database owned by a Supabase-like role (NOSUPERUSER, BYPASSRLS, CREATEROLE; PostgreSQL 16 changed
what CREATEROLE may do, so 15 is not 18) holding the platform in a stand-in variant (by default
the Supabase table editor's: bigint ids, an enum status, lean profiles). Then the whole path of
:func:`e2e.run_end_to_end` as that role, and what a user checks.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from e2e import MARTS, EndToEnd, run_end_to_end
from leadgen.config import Target
from leadgen.db import create_database, drop_database
from leadgen.embedded import EmbeddedPostgres
from leadgen.migrate import load_migrations
from leadgen.standin import VARIANTS
from pg15 import PG15Unavailable, pg15_server
from variant_platforms import supabase_like_role, variant_platform

pytestmark = pytest.mark.slow

# The variant furthest from our own stand-in; each variant costs ≈ 2 min ("standard" passes too).
PG15_VARIANTS = ("bigint-enum",)


@pytest.fixture(scope="module")
def pg15_make_db(pg15: Target) -> Iterator[Callable[..., Target]]:
    """Throwaway databases on the PostgreSQL 15 server (``make_db`` for it), dropped at the end."""
    created: list[str] = []

    def _make(label: str) -> Target:
        created.append(f"leadgen_pg15_{label}_{uuid.uuid4().hex[:6]}")
        return create_database(pg15, created[-1])

    yield _make
    for name in reversed(created):
        drop_database(pg15, name)


@pytest.fixture(scope="module")
def pg15_role(pg15: Target) -> Iterator[tuple[str, str]]:
    with supabase_like_role(pg15, "leadgen_test_pg15_owner") as role:
        yield role


@pytest.fixture(scope="module", params=PG15_VARIANTS)
def pg15_run(
    request: pytest.FixtureRequest,
    pg15_make_db: Callable[..., Target],
    pg15_role: tuple[str, str],
    prefect_harness: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> EndToEnd:
    from prefect.settings import PREFECT_API_URL

    variant = VARIANTS[request.param]
    target = variant_platform(pg15_make_db, variant, pg15_role)
    work_dir = Path(tmp_path_factory.mktemp(f"pg15_{variant.name}"))
    return run_end_to_end(target, work_dir, str(PREFECT_API_URL.value()), extra_env=variant.dbt_env())


def test_the_server_is_postgresql_15(pg15_run: EndToEnd) -> None:
    assert 150000 <= pg15_run.server_version < 160000


def test_every_migration_is_applied_and_recorded(pg15_run: EndToEnd) -> None:
    shipped = [m.version for m in load_migrations()]
    assert pg15_run.history == shipped
    assert f"applied {len(shipped)}, already applied 0" in pg15_run.migrate_output


def test_the_marts_are_built_and_not_empty(pg15_run: EndToEnd) -> None:
    empty = [mart for mart in MARTS if pg15_run.mart_rows[mart] == 0]
    assert not empty, f"empty marts on PostgreSQL 15: {empty} ({pg15_run.mart_rows})"
    assert pg15_run.mart_rows["lead_segment_assignments"] == pg15_run.leads


def test_segments_are_written_back_to_leads(pg15_run: EndToEnd) -> None:
    assert pg15_run.leads_with_segment > 0
    assert pg15_run.leads_with_segment == pg15_run.assigned_in_mart
    assert pg15_run.writeback_mismatches == 0


def test_check_passes_as_the_supabase_like_role(pg15_run: EndToEnd) -> None:
    assert pg15_run.check_output.startswith("ok:"), pg15_run.check_output


def test_the_daily_run_prints_its_summary(pg15_run: EndToEnd) -> None:
    headline = pg15_run.daily_output.strip().splitlines()[0]
    assert " leads in " in headline and "accepted so far" in headline, pg15_run.daily_output[:500]


def test_a_pg15_server_beside_the_embedded_one_keeps_its_own_files(tmp_path: Path) -> None:
    """One state directory, two servers: each its own data, port and version. pytest's tmp dir
    is root-only when we run as root, so this also exercises the move to a directory that the
    unprivileged user can reach (a clone under /root)."""
    try:
        server15 = pg15_server(tmp_path)
    except PG15Unavailable as exc:
        pytest.skip(str(exc))
    server18 = EmbeddedPostgres(tmp_path)
    try:
        status15, status18 = server15.start(), server18.start()
        assert status15.port != status18.port
        assert server15.data_dir != server18.data_dir
        assert server15.port_file != server18.port_file
        versions = []
        for server in (server15, server18):
            with psycopg.connect(server.conninfo("leadgen"), connect_timeout=5) as conn:
                versions.append(int(conn.execute("show server_version_num").fetchone()[0]))  # type: ignore[index]
        assert versions[0] // 10000 == 15 and versions[1] // 10000 >= 16
        if os.geteuid() == 0:
            assert Path(f"/proc/{status15.pid}").stat().st_uid != 0, "PostgreSQL must never run as root"
        assert server15.stop() and not server15.status().running
        assert server18.status().running, "stopping the 15 must leave the other server alone"
    finally:
        for server in (server15, server18):
            server.stop()
            if os.geteuid() == 0:
                shutil.rmtree(server.fallback_dir, ignore_errors=True)
