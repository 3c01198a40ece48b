"""The end-to-end path on PostgreSQL 15 (production Supabase runs 15-17; the embedded server is 18).

SLOW MODULE (≈ 2-3 min on 2 cores): one fresh database on the ``pg15`` server, the whole path of
:func:`e2e.run_end_to_end`, then what a user checks.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from e2e import MARTS, EndToEnd, run_end_to_end
from leadgen.config import Target
from leadgen.db import create_database, drop_database
from leadgen.embedded import EmbeddedPostgres
from leadgen.migrate import load_migrations
from pg15 import PG15Unavailable, pg15_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg15_run(
    pg15: Target, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EndToEnd]:
    from prefect.settings import PREFECT_API_URL

    api_url = str(PREFECT_API_URL.value())
    target = create_database(pg15, f"leadgen_pg15_{uuid.uuid4().hex[:6]}")
    try:
        yield run_end_to_end(target, Path(tmp_path_factory.mktemp("pg15")), api_url)
    finally:
        drop_database(pg15, target.dbname)


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
