"""The end-to-end path on PostgreSQL 15 (production Supabase runs 15-17; the embedded server is 18).

SLOW MODULE (≈ 2-3 min on 2 cores): one fresh database on the ``pg15`` server, the whole path of
:func:`e2e.run_end_to_end`, then what a user checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import MARTS, EndToEnd, run_end_to_end
from leadgen.config import Target
from leadgen.db import create_database, drop_database
from leadgen.migrate import load_migrations

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
