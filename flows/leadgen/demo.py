"""`leadgen demo`: the whole pipeline on a synthetic marketplace, ending in a summary and a report.

Runbook: database -> stand-in of the platform -> migrations (the migrate flow) -> generated
marketplace (skipped when the database already has leads, unless ``fresh``) -> the daily flow
(which writes ``reports/index.html``) -> summary on the terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from leadgen.config import Target, resolve_target
from leadgen.db import connect, create_database, drop_database, table_exists

DEMO_SIZE = {"partners": 400, "leads": 150_000, "days": 120, "seed": 42}


@dataclass(frozen=True)
class DemoResult:
    report: Path
    seconds: float


def has_leads(target: Target) -> bool:
    with connect(target) as conn:
        if not table_exists(conn, "public.leads"):
            return False
        row = conn.execute("select exists (select 1 from public.leads)").fetchone()
    return bool(row and row[0])


def recreate_database(target: Target) -> None:
    """Drop and create the demo database; only ever on the embedded server."""
    if not target.is_embedded:
        raise RuntimeError(
            f"--fresh drops the database and is only allowed on the embedded server, not {target.url()}"
        )
    drop_database(target, target.dbname)
    create_database(target, target.dbname)


def run_demo(
    *, fresh: bool = False, partners: int, leads: int, days: int, seed: int, console: Console | None = None
) -> DemoResult:
    from leadgen.generate import generate_marketplace
    from leadgen.logs import interactive
    from leadgen.migrate_flow import migrate_flow
    from leadgen.pipeline import daily
    from leadgen.report import default_report_path
    from leadgen.standin import init_stand_in
    from leadgen.summary import print_summary

    console = console or Console(soft_wrap=True)  # a line is a line in a file or a pipe: no wrapping
    started = time.monotonic()
    target = resolve_target()
    console.print(f"[bold]leadgen demo[/bold] on {target.url()} ({target.source})")
    if fresh:
        recreate_database(target)
        console.print(f"database {target.dbname!r} recreated")
    step = time.monotonic()
    console.print(f"{init_stand_in(target)} ({time.monotonic() - step:.1f} s)")
    step = time.monotonic()
    migrations = migrate_flow()
    console.print(
        f"migrations: {len(migrations.applied)} applied, {len(migrations.already_applied)} already applied "
        f"({time.monotonic() - step:.1f} s)"
    )
    if has_leads(target):
        console.print("marketplace already generated: keeping it (leadgen demo --fresh rebuilds it)")
    else:
        console.print(generate_marketplace(
            target, partners=partners, leads=leads, days=days, seed=seed, progress=interactive()
        ))
    step = time.monotonic()
    summary = daily()
    console.print(f"daily flow finished in {time.monotonic() - step:.1f} s")
    print_summary(summary, console)
    report = default_report_path()  # written by the daily flow, from the marts it just built
    elapsed = time.monotonic() - started
    shown = f"{report}  (open it in a browser)" if report.exists() else "not written (see the log)"
    console.print(f"report: {shown}\ndemo finished in {elapsed:.0f} s")
    return DemoResult(report=report, seconds=elapsed)
