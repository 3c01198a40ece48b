"""The Prefect flow `migrate`: :func:`leadgen.migrate.apply_migrations` as a flow run (deployment
``migrate`` in prefect.yaml). Kept apart so that the migration runner itself imports no Prefect."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from leadgen.migrate import MigrationReport, apply_migrations
from leadgen.stopping import STOP_HOOKS


@task(name="apply-migrations")
def apply_migrations_task(dry_run: bool) -> MigrationReport:
    return apply_migrations(dry_run=dry_run)


@flow(name="migrate", on_crashed=STOP_HOOKS)
def migrate_flow(dry_run: bool = False) -> MigrationReport:
    """Apply pending migrations in order (dry run: only list them); refuses when an applied file changed."""
    report = apply_migrations_task(dry_run)
    get_run_logger().info(report.summary())
    return report
